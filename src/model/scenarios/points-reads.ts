import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { SqlState } from '../statement.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { describeTx } from '../invariants.ts';
import { deduct as deductOperation, pointsSchema, type PointsDb } from './points.ts';

/**
 * `points-read-during-update`: balance reads while deductions run, on the
 * points ledger of points.ts (3000 points). A read shows the balance and the
 * points spent so far (the sum of the history); both must come from one
 * committed state, so that balance + spent is always the opening 3000.
 * Deductions are one conditional UPDATE in every strategy: what differs is
 * how the read is written.
 */

/** What a read shows the user. */
export interface BalanceView {
  readonly balance: number;
  readonly spent: number;
}

const user = 1;
const opening = 3000;

function* deduct(tx: Tx<PointsDb>, a: { user: number; amount: number }) {
  const changed = yield* tx.update('accounts', { id: a.user, balance: { gte: a.amount } }, { balance: { add: -a.amount } });
  if (changed.length === 0) return yield* tx.rollback('insufficient');
  yield* tx.insert('history', { tx: tx.id, account: a.user, delta: -a.amount });
  return yield* tx.commit('ok');
}

/** naive: two statements, the account row then the history; under READ COMMITTED each sees its own snapshot. */
function* readTwoStatements(tx: Tx<PointsDb>, a: { user: number }) {
  const acct = yield* tx.selectOne('accounts', { id: a.user });
  const history = yield* tx.select('history', { account: a.user });
  return yield* tx.commit({ balance: acct?.balance ?? 0, spent: -history.reduce((s, r) => s + r.delta, 0) });
}

/** for-share: SELECT ... FOR SHARE the account first, which waits for a deduction in flight and holds off the next one until the read ends (reads then block writers). */
function* readForShare(tx: Tx<PointsDb>, a: { user: number }) {
  const acct = yield* tx.selectOne('accounts', { id: a.user }, { lock: 'share' });
  const history = yield* tx.select('history', { account: a.user });
  return yield* tx.commit({ balance: acct?.balance ?? 0, spent: -history.reduce((s, r) => s + r.delta, 0) });
}


const readOperation: Operation<PointsDb, { user: number }> = {
  args: fc.constant({ user }),
  serial(state, a) {
    const balance = state.accounts.find((r) => r.id === a.user)!.balance;
    const spent = -state.history.filter((r) => r.account === a.user).reduce((s, r) => s + r.delta, 0);
    return { balance, spent };
  },
};

/** Every read saw one committed state: its balance plus what it saw spent is the opening balance. */
const readsConsistent: Invariant<PointsDb> = {
  name: 'read-sees-one-state',
  check: ({ outcomes }) => {
    for (const o of outcomes) {
      if (o.operation !== 'read' || o.result === undefined) continue;
      const { balance, spent } = o.result as unknown as BalanceView;
      if (balance + spent !== opening) {
        return `${describeTx(o)} showed a balance of ${balance} with ${spent} spent, which no committed state holds (they add up to ${balance + spent}, not ${opening}).`;
      }
    }
    return null;
  },
};

/** The balance never goes negative and moved by exactly the successful deductions. */
const balanceMatches: Invariant<PointsDb> = {
  name: 'balance-matches-successes',
  check: ({ final, outcomes }) => {
    const spent = outcomes.filter((o) => o.operation === 'deduct' && o.result === 'ok').reduce((s, o) => s + (o.args as { amount: number }).amount, 0);
    const balance = final.accounts[0].balance;
    return balance === opening - spent ? null : `The balance ended at ${balance}, but the successful deductions leave ${opening - spent}.`;
  },
};

export const pointsReadDuringUpdate = defineScenario({
  id: 'points-read-during-update',
  title: 'balance 3000; balance reads while deductions of 300 run',
  schema: pointsSchema,
  seed: { accounts: [{ id: user, balance: opening }], history: [] },
  isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
  operations: { read: readOperation, deduct: deductOperation(300, 5) },
  strategies: {
    naive: {
      description: 'read the account, then the history, in two statements',
      programs: { read: readTwoStatements, deduct },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'for-share': {
      description: 'SELECT ... FOR SHARE the account, then read the history (the read waits for, and holds off, deductions)',
      programs: { read: readForShare, deduct },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive read and deduction, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { read: retrying(readTwoStatements, [SqlState.serializationFailure]), deduct: retrying(deduct, [SqlState.serializationFailure]) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [readsConsistent, balanceMatches],
  transactions: { min: 2, max: 4 },
  canonical: [
    ...Array.from({ length: 5 }, () => ({ operation: 'deduct', args: { user, amount: 300 } })),
    ...Array.from({ length: 3 }, () => ({ operation: 'read', args: { user } })),
  ],
});
