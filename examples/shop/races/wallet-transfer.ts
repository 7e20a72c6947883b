import { defineSchema, defineScenario, everyRequestAnswered, fc, retrying, type DatabaseOf, type Invariant, type Tx } from 'lockstep';

/**
 * Wallet transfers: the shop keeps a store-credit wallet per customer, and a
 * customer can send credit to another. A transfer moves `amount` from one
 * wallet to another if the sender has enough; otherwise it is refused. Three
 * wallets of 100 credits; two or three transfers at once.
 *
 * Rules: no wallet goes below zero, no credit is created or destroyed, every
 * wallet moved by exactly the transfers that reported "ok", and every request
 * gets an answer (no unhandled database error reaches the customer).
 */
const schema = defineSchema({
  wallets: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
});
type Db = DatabaseOf<typeof schema>;
export type Transfer = { from: number; to: number; amount: number };

// naive: read both wallets, check the sender's balance in the application, write both new balances.
function* transferNaive(tx: Tx<Db>, t: Transfer) {
  const from = yield* tx.selectOne('wallets', { id: t.from });
  const to = yield* tx.selectOne('wallets', { id: t.to });
  if (!from || !to) return yield* tx.rollback('no-wallet');
  if (from.balance < t.amount) return yield* tx.rollback('insufficient');
  yield* tx.update('wallets', { id: t.from }, { balance: from.balance - t.amount });
  yield* tx.update('wallets', { id: t.to }, { balance: to.balance + t.amount });
  return yield* tx.commit('ok');
}

/** Locks the two wallets with SELECT ... FOR UPDATE in the order given, then checks and writes. */
function* lockThenMove(tx: Tx<Db>, t: Transfer, order: readonly [number, number]) {
  const locked = [];
  for (const id of order) locked.push(yield* tx.selectOne('wallets', { id }, { lock: 'update' }));
  const from = locked.find((w) => w?.id === t.from);
  const to = locked.find((w) => w?.id === t.to);
  if (!from || !to) return yield* tx.rollback('no-wallet');
  if (from.balance < t.amount) return yield* tx.rollback('insufficient');
  yield* tx.update('wallets', { id: t.from }, { balance: from.balance - t.amount });
  yield* tx.update('wallets', { id: t.to }, { balance: to.balance + t.amount });
  return yield* tx.commit('ok');
}

// lock-in-request-order: FOR UPDATE on the sender, then on the receiver. Two transfers in
// opposite directions each hold one wallet and wait for the other: PostgreSQL aborts one with 40P01.
function transferRequestOrder(tx: Tx<Db>, t: Transfer) {
  return lockThenMove(tx, t, [t.from, t.to]);
}

// lock-in-id-order: FOR UPDATE on the lower wallet id first, whatever the direction: no wait cycle.
function transferIdOrder(tx: Tx<Db>, t: Transfer) {
  return lockThenMove(tx, t, t.from < t.to ? [t.from, t.to] : [t.to, t.from]);
}

/** The credits moved by the transfers that reported "ok", per wallet. */
function expectedBalances(initial: readonly Db['wallets'][], ok: readonly Transfer[]): Map<number, number> {
  const balances = new Map(initial.map((w) => [w.id, w.balance]));
  for (const t of ok) {
    balances.set(t.from, balances.get(t.from)! - t.amount);
    balances.set(t.to, balances.get(t.to)! + t.amount);
  }
  return balances;
}

const noOverdraft: Invariant<Db> = {
  name: 'no-overdraft',
  check: ({ final }) => {
    const overdrawn = final.wallets.find((w) => w.balance < 0);
    return overdrawn ? `Wallet ${overdrawn.id} ended at ${overdrawn.balance}: it was overdrawn.` : null;
  },
};

const creditConserved: Invariant<Db> = {
  name: 'credit-conserved',
  check: ({ initial, final }) => {
    const sum = (ws: readonly Db['wallets'][]) => ws.reduce((s, w) => s + w.balance, 0);
    const before = sum(initial.wallets);
    const after = sum(final.wallets);
    return after === before ? null : `The wallets hold ${after} credits in all, but transfers only move credit: they held ${before}.`;
  },
};

const walletsMatchTransfers: Invariant<Db> = {
  name: 'wallets-match-transfers',
  check: ({ initial, final, outcomes }) => {
    const ok = outcomes.filter((o) => o.result === 'ok').map((o) => o.args as Transfer);
    const expected = expectedBalances(initial.wallets, ok);
    const wrong = final.wallets.find((w) => w.balance !== expected.get(w.id));
    return wrong ? `Wallet ${wrong.id} ended at ${wrong.balance}, but the ${ok.length} successful transfers leave it at ${expected.get(wrong.id)}.` : null;
  },
};

export const walletTransfer = defineScenario({
  id: 'wallet-transfer',
  title: 'three wallets of 100 credits; concurrent transfers between them',
  schema,
  seed: { wallets: [1, 2, 3].map((id) => ({ id, balance: 100 })) },
  isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
  operations: {
    transfer: {
      // From any wallet to another one, 40 to 80 credits: two transfers out of one wallet can overdraw it.
      args: fc
        .record({ from: fc.integer({ min: 1, max: 3 }), step: fc.integer({ min: 1, max: 2 }), amount: fc.integer({ min: 4, max: 8 }) })
        .map(({ from, step, amount }) => ({ from, to: ((from + step - 1) % 3) + 1, amount: amount * 10 })),
      // What one transfer does alone: every interleaving's results must match some order of these.
      serial(state, t: Transfer) {
        const from = state.wallets.find((w) => w.id === t.from);
        const to = state.wallets.find((w) => w.id === t.to);
        if (!from || !to) return 'no-wallet';
        if (from.balance < t.amount) return 'insufficient';
        from.balance -= t.amount;
        to.balance += t.amount;
        return 'ok';
      },
    },
  },
  strategies: {
    naive: {
      description: 'read both wallets, check in the application, write both balances',
      programs: { transfer: transferNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'lock-in-request-order': {
      description: 'SELECT ... FOR UPDATE the sender, then the receiver (opposite transfers deadlock: 40P01)',
      programs: { transfer: transferRequestOrder },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'lock-in-id-order': {
      description: 'SELECT ... FOR UPDATE both wallets, lower id first',
      programs: { transfer: transferIdOrder },
      // Under repeatable read the second locker of a wallet the first one changed gets 40001.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'lock-in-id-order-retry': {
      description: 'lock-in-id-order, run again from the start on 40001 or 40P01',
      programs: { transfer: retrying(transferIdOrder) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [noOverdraft, creditConserved, walletsMatchTransfers, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: [
    { operation: 'transfer', args: { from: 1, to: 2, amount: 60 } },
    { operation: 'transfer', args: { from: 2, to: 1, amount: 70 } },
  ],
});
