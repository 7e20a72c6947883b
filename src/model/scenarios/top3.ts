import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { SqlState } from '../statement.ts';
import { defineScenario, type Invariant, type Operation, type Strategy } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { everyRequestAnswered, plural, withResult } from '../invariants.ts';

/**
 * Top3: a user picks their three tasks of a day; setting the Top3 of a date
 * costs 300 points and can be done once per date. The `top3` table has an
 * application id and no unique index on (user, date), as the application that
 * checks in code first would have it.
 *
 * Scenarios: `top3-same-date` (3 concurrent sets for one date, balance 1000),
 * `top3-different-dates` (3 concurrent sets for 3 dates, balance 900).
 */
export const top3Schema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
  top3: { columns: { id: 'int', user: 'int', date: 'int' }, primaryKey: ['id'] },
});

export type Top3Db = DatabaseOf<typeof top3Schema>;

/** Arguments of a "set Top3": the user and the date (a day number). */
export interface SetTop3 {
  readonly user: number;
  readonly date: number;
}

const user = 1;
const cost = 300;

function* setTop3(tx: Tx<Top3Db>, a: SetTop3, lock: boolean) {
  const acct = yield* tx.selectOne('accounts', { id: a.user }, { lock: lock ? 'update' : undefined });
  const existing = yield* tx.select('top3', { user: a.user, date: a.date });
  if (existing.length > 0) return yield* tx.rollback('already-set');
  if (!acct || acct.balance < cost) return yield* tx.rollback('insufficient');
  yield* tx.update('accounts', { id: a.user }, { balance: acct.balance - cost });
  yield* tx.insert('top3', { id: tx.id, user: a.user, date: a.date });
  return yield* tx.commit('ok');
}

/** naive: read the balance and look for the date's Top3, decide in the application, write the new balance and the row. */
function* setNaive(tx: Tx<Top3Db>, a: SetTop3) {
  return yield* setTop3(tx, a, false);
}

/** for-update: lock the account row first, which puts one user's sets in line, then check and write. */
function* setForUpdate(tx: Tx<Top3Db>, a: SetTop3) {
  return yield* setTop3(tx, a, true);
}

/** advisory-lock: take the user's advisory lock first, which puts one user's sets in line, then the naive check and write. */
function* setAdvisory(tx: Tx<Top3Db>, a: SetTop3) {
  yield* tx.advisoryLock(a.user);
  return yield* setTop3(tx, a, false);
}

const setOperation = (dates: readonly number[]): Operation<Top3Db, SetTop3> => ({
  args: fc.constantFrom(...dates).map((date) => ({ user, date })),
  serial(state, a, { id }) {
    if (state.top3.some((r) => r.user === a.user && r.date === a.date)) return 'already-set';
    const acct = state.accounts.find((r) => r.id === a.user)!;
    if (acct.balance < cost) return 'insufficient';
    acct.balance -= cost;
    state.top3.push({ id, user: a.user, date: a.date });
    return 'ok';
  },
});

/** At most one Top3 row per date; one per successful set; 300 points deducted per row, no more, no less. */
const chargedOncePerDate: Invariant<Top3Db> = {
  name: 'one-top3-per-date',
  check: ({ initial, final, outcomes }) => {
    const dates = new Map<number, number>();
    for (const r of final.top3) dates.set(r.date, (dates.get(r.date) ?? 0) + 1);
    for (const [date, n] of dates) if (n > 1) return `Date ${date} has ${n} Top3 rows, but a date has one.`;
    const ok = withResult(outcomes, 'ok').length;
    if (final.top3.length !== ok) return `${plural(final.top3.length, 'Top3 row')} for ${plural(ok, 'successful set')}.`;
    const charged = initial.accounts[0].balance - final.accounts[0].balance;
    if (charged !== cost * ok) return `${charged} points were deducted for ${plural(ok, 'successful set')}, which cost ${cost * ok}.`;
    return null;
  },
};

/** Every distinct date requested got its Top3, as far as the points allow. */
const everyDateSet: Invariant<Top3Db> = {
  name: 'every-date-set',
  check: ({ initial, final, outcomes }) => {
    const requested = new Set(outcomes.map((o) => (o.args as SetTop3).date)).size;
    const due = Math.min(requested, Math.floor(initial.accounts[0].balance / cost));
    return final.top3.length === due ? null : `${plural(final.top3.length, 'date')} got a Top3, but ${due} of the ${plural(requested, 'date')} requested should have.`;
  },
};

const retryNote = 'retry the whole set on 40001 or 40P01';

const strategies = (naiveUnderRepeatableRead: 'passes' | 'fails'): Record<string, Strategy<Top3Db>> => ({
  naive: {
    description: 'read the balance and the date\'s Top3, decide, write balance - 300 and the row',
    programs: { set: setNaive },
    expected: { 'read-committed': 'fails', 'repeatable-read': naiveUnderRepeatableRead, serializable: 'fails' },
  },
  'for-update': {
    description: 'SELECT the account FOR UPDATE, then check the date and write',
    programs: { set: setForUpdate },
    // Under repeatable read the waiter gets 40001 on the account the winner updated.
    expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
  },
  'for-update-retry': {
    description: `SELECT the account FOR UPDATE, then check the date and write; ${retryNote}`,
    programs: { set: retrying(setForUpdate) },
    expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
  },
  'advisory-lock': {
    description: 'SELECT pg_advisory_xact_lock(user) first, then check the date and write',
    programs: { set: setAdvisory },
    // Under repeatable read the lock statement took the waiter's snapshot before the wait: its write gets 40001.
    expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
  },
  'serializable-retry': {
    description: 'the naive set, run again from the start on 40001 (meant for SERIALIZABLE)',
    programs: { set: retrying(setNaive, [SqlState.serializationFailure]) },
    expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
  },
});

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;

export const top3SameDate = defineScenario({
  id: 'top3-same-date',
  title: 'balance 1000; concurrent "set Top3" for one date, 300 points each',
  schema: top3Schema,
  seed: { accounts: [{ id: user, balance: 1000 }], top3: [] },
  isolationLevels,
  operations: { set: setOperation([1]) },
  strategies: strategies('fails'),
  invariants: [chargedOncePerDate, everyDateSet, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 3 }, () => ({ operation: 'set', args: { user, date: 1 } })),
});

export const top3DifferentDates = defineScenario({
  id: 'top3-different-dates',
  title: 'balance 900; concurrent "set Top3" for different dates, 300 points each',
  schema: top3Schema,
  seed: { accounts: [{ id: user, balance: 900 }], top3: [] },
  isolationLevels,
  operations: { set: setOperation([1, 2, 3]) },
  strategies: strategies('fails'),
  invariants: [chargedOncePerDate, everyDateSet, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: [1, 2, 3].map((date) => ({ operation: 'set', args: { user, date } })),
});
