import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { SqlState } from '../statement.ts';
import { defineScenario, forOperations, type Invariant, type Operation, type RunOutcome, type Strategy } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';

/**
 * Points ledger: one account balance and a history row per successful
 * operation. The balance must always equal the starting balance plus the sum
 * of the history, never go negative, and every success must be in the history.
 *
 * Scenarios: `points-deduct` (3000 points, deductions of 300),
 * `points-add` (1000 points, additions of 100), `points-mixed` (2000 points,
 * additions and deductions of 100).
 */
export const pointsSchema = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
  history: { columns: { tx: 'int', account: 'int', delta: 'int' }, primaryKey: ['tx'] },
});

export type PointsDb = DatabaseOf<typeof pointsSchema>;

/** Arguments of a deduction or an addition. */
export interface Amount {
  readonly user: number;
  readonly amount: number;
}

const user = 1;

// --- naive: read the balance, decide in the application, write the new balance ---

function* deductNaive(tx: Tx<PointsDb>, a: Amount) {
  const acct = yield* tx.selectOne('accounts', { id: a.user });
  if (!acct || acct.balance < a.amount) return yield* tx.rollback('insufficient');
  yield* tx.update('accounts', { id: a.user }, { balance: acct.balance - a.amount });
  yield* tx.insert('history', { tx: tx.id, account: a.user, delta: -a.amount });
  return yield* tx.commit('ok');
}

function* addNaive(tx: Tx<PointsDb>, a: Amount) {
  const acct = yield* tx.selectOne('accounts', { id: a.user });
  if (!acct) return yield* tx.rollback('no-account');
  yield* tx.update('accounts', { id: a.user }, { balance: acct.balance + a.amount });
  yield* tx.insert('history', { tx: tx.id, account: a.user, delta: a.amount });
  return yield* tx.commit('ok');
}

// --- for-update: lock the account row with SELECT ... FOR UPDATE before deciding ---

function* deductForUpdate(tx: Tx<PointsDb>, a: Amount) {
  const acct = yield* tx.selectOne('accounts', { id: a.user }, { lock: 'update' });
  if (!acct || acct.balance < a.amount) return yield* tx.rollback('insufficient');
  yield* tx.update('accounts', { id: a.user }, { balance: acct.balance - a.amount });
  yield* tx.insert('history', { tx: tx.id, account: a.user, delta: -a.amount });
  return yield* tx.commit('ok');
}

function* addForUpdate(tx: Tx<PointsDb>, a: Amount) {
  const acct = yield* tx.selectOne('accounts', { id: a.user }, { lock: 'update' });
  if (!acct) return yield* tx.rollback('no-account');
  yield* tx.update('accounts', { id: a.user }, { balance: acct.balance + a.amount });
  yield* tx.insert('history', { tx: tx.id, account: a.user, delta: a.amount });
  return yield* tx.commit('ok');
}

// --- atomic-update: one conditional UPDATE ... SET balance = balance - x WHERE balance >= x ---

function* deductAtomic(tx: Tx<PointsDb>, a: Amount) {
  const changed = yield* tx.update('accounts', { id: a.user, balance: { gte: a.amount } }, { balance: { add: -a.amount } });
  if (changed.length === 0) return yield* tx.rollback('insufficient');
  yield* tx.insert('history', { tx: tx.id, account: a.user, delta: -a.amount });
  return yield* tx.commit('ok');
}

function* addAtomic(tx: Tx<PointsDb>, a: Amount) {
  const changed = yield* tx.update('accounts', { id: a.user }, { balance: { add: a.amount } });
  if (changed.length === 0) return yield* tx.rollback('no-account');
  yield* tx.insert('history', { tx: tx.id, account: a.user, delta: a.amount });
  return yield* tx.commit('ok');
}

// --- advisory-lock: take the account's advisory lock (pg_advisory_xact_lock(user)) first, then the naive read-modify-write ---

function* deductAdvisory(tx: Tx<PointsDb>, a: Amount) {
  yield* tx.advisoryLock(a.user);
  return yield* deductNaive(tx, a);
}

function* addAdvisory(tx: Tx<PointsDb>, a: Amount) {
  yield* tx.advisoryLock(a.user);
  return yield* addNaive(tx, a);
}

// --- serial spec ---

/** Deductions of `step` × 1..`max` from user 1's account, and what one does alone. */
export const deduct = (step: number, max: number): Operation<PointsDb, Amount> => ({
  args: fc.integer({ min: 1, max }).map((k) => ({ user, amount: k * step })),
  serial(state, a, { id }) {
    const acct = state.accounts.find((r) => r.id === a.user)!;
    if (acct.balance < a.amount) return 'insufficient';
    acct.balance -= a.amount;
    state.history.push({ tx: id, account: a.user, delta: -a.amount });
    return 'ok';
  },
});

const add = (step: number, max: number): Operation<PointsDb, Amount> => ({
  args: fc.integer({ min: 1, max }).map((k) => ({ user, amount: k * step })),
  serial(state, a, { id }) {
    const acct = state.accounts.find((r) => r.id === a.user)!;
    acct.balance += a.amount;
    state.history.push({ tx: id, account: a.user, delta: a.amount });
    return 'ok';
  },
});

// --- invariants ---

const balanceOf = (rows: readonly PointsDb['accounts'][]) => rows.find((r) => r.id === user)?.balance ?? 0;

const neverNegative: Invariant<PointsDb> = {
  name: 'balance-never-negative',
  check: ({ final }) => {
    const balance = balanceOf(final.accounts);
    return balance < 0 ? `The balance ended at ${balance}, below zero.` : null;
  },
};

/** The balance moved by exactly the amounts of the operations that reported success. */
const balanceMatchesSuccesses: Invariant<PointsDb> = {
  name: 'balance-matches-successes',
  check: ({ initial, final, outcomes }) => {
    let expected = balanceOf(initial.accounts);
    let successes = 0;
    for (const o of outcomes) {
      if (o.result !== 'ok') continue;
      const a = o.args as Amount;
      expected += o.operation === 'deduct' ? -a.amount : a.amount;
      successes++;
    }
    const balance = balanceOf(final.accounts);
    if (balance === expected) return null;
    return `The balance ended at ${balance}, but ${successes} successful operation${successes === 1 ? '' : 's'} from ${balanceOf(initial.accounts)} should leave ${expected}: an update was lost.`;
  },
};

const historyMatchesSuccesses: Invariant<PointsDb> = {
  name: 'history-matches-successes',
  check: ({ final, outcomes }) => {
    const successes = outcomes.filter((o) => o.result === 'ok').length;
    const rows = final.history.length;
    return rows === successes ? null : `The history holds ${rows} row${rows === 1 ? '' : 's'} but ${successes} operation${successes === 1 ? '' : 's'} reported success.`;
  },
};

const everyOperationSucceeds: Invariant<PointsDb> = {
  name: 'every-operation-succeeds',
  check: ({ outcomes }: RunOutcome<PointsDb>) => {
    const failed = outcomes.find((o) => o.result !== 'ok');
    if (!failed) return null;
    const why = failed.fate === 'aborted' ? `was aborted with ${failed.error!.code} (${failed.error!.message})` : `reported "${String(failed.result)}"`;
    return `T${failed.id} (${failed.operation} ${(failed.args as Amount).amount}) ${why}, but every operation must succeed.`;
  },
};

const ledgerInvariants = [neverNegative, balanceMatchesSuccesses, historyMatchesSuccesses];

// --- strategies ---

const safeForDeductions = { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' } as const;
/** Under repeatable read and serializable a write to a row another transaction changed ends in 40001, so "every operation succeeds" breaks without a retry. */
const mustAllSucceed = { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' } as const;
/** Retrying on 40001 is safe wherever conflicts raise it; read committed raises none, so the read-modify-write loses updates there. */
const safeWithRetries = { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' } as const;

const onSerializationFailure = [SqlState.serializationFailure];

const strategiesFor = (expectedSafe: Strategy['expected']): Record<string, Strategy<PointsDb>> => ({
  naive: {
    description: 'read the balance, decide in the application, write the new balance',
    programs: { deduct: deductNaive, add: addNaive },
    expected: { ...expectedSafe, 'read-committed': 'fails' },
  },
  'for-update': {
    description: 'SELECT ... FOR UPDATE the account, then decide and write',
    programs: { deduct: deductForUpdate, add: addForUpdate },
    expected: expectedSafe,
  },
  'atomic-update': {
    description: 'one conditional UPDATE ... SET balance = balance - x WHERE balance >= x',
    programs: { deduct: deductAtomic, add: addAtomic },
    expected: expectedSafe,
  },
  'advisory-lock': {
    description: 'SELECT pg_advisory_xact_lock(user) first, then the naive read-modify-write',
    programs: { deduct: deductAdvisory, add: addAdvisory },
    // Under repeatable read and serializable the lock statement took the waiter's snapshot before the wait: its write gets 40001, as with for-update.
    expected: expectedSafe,
  },
  'serializable-retry': {
    description: 'the naive read-modify-write, run again from the start on 40001 (meant for SERIALIZABLE)',
    programs: { deduct: retrying(deductNaive, onSerializationFailure), add: retrying(addNaive, onSerializationFailure) },
    expected: safeWithRetries,
  },
});

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;

export const pointsDeduct = defineScenario({
  id: 'points-deduct',
  title: 'balance 3000; concurrent deductions of 300 (and multiples)',
  schema: pointsSchema,
  seed: { accounts: [{ id: user, balance: 3000 }], history: [] },
  isolationLevels,
  operations: { deduct: deduct(300, 10) },
  strategies: forOperations(strategiesFor(safeForDeductions), ['deduct']),
  invariants: ledgerInvariants,
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 10 }, () => ({ operation: 'deduct', args: { user, amount: 300 } })),
});

export const pointsAdd = defineScenario({
  id: 'points-add',
  title: 'balance 1000; concurrent additions of 100 (and multiples)',
  schema: pointsSchema,
  seed: { accounts: [{ id: user, balance: 1000 }], history: [] },
  isolationLevels,
  operations: { add: add(100, 5) },
  strategies: forOperations(strategiesFor(mustAllSucceed), ['add']),
  invariants: [...ledgerInvariants, everyOperationSucceeds],
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 10 }, () => ({ operation: 'add', args: { user, amount: 100 } })),
});

export const pointsMixed = defineScenario({
  id: 'points-mixed',
  title: 'balance 2000; concurrent additions and deductions of 100',
  schema: pointsSchema,
  seed: { accounts: [{ id: user, balance: 2000 }], history: [] },
  isolationLevels,
  operations: { add: add(100, 5), deduct: deduct(100, 5) },
  strategies: strategiesFor(mustAllSucceed),
  invariants: [...ledgerInvariants, everyOperationSucceeds],
  transactions: { min: 2, max: 4 },
  canonical: [
    ...Array.from({ length: 5 }, () => ({ operation: 'add', args: { user, amount: 100 } })),
    ...Array.from({ length: 5 }, () => ({ operation: 'deduct', args: { user, amount: 100 } })),
  ],
});
