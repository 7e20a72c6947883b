import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { SqlState } from '../statement.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { everyRequestAnswered, plural, withResult } from '../invariants.ts';

/**
 * Orders, stock and payments.
 *
 * Scenarios: `order-stock` (K concurrent orders of 1 against stock S),
 * `payment-confirm` (concurrent confirmations, the same payment twice among them).
 */

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;
const retryNote = 'retry on 40001 or 40P01';
const onSerializationFailure = [SqlState.serializationFailure];

// ============================== order-stock ==============================

export const stockSchema = defineSchema({
  products: { columns: { id: 'int', stock: 'int' }, primaryKey: ['id'] },
  orders: { columns: { id: 'int', product: 'int' }, primaryKey: ['id'] },
});

export type StockDb = DatabaseOf<typeof stockSchema>;

/** Product 1: SCENARIOS.md's 1000 in stock (for 500 orders); product 2: 10 in stock (12 orders, more than the stock); product 3: 1 in stock, so that two orders race for the last one. */
const stockSeed = [
  { id: 1, stock: 1000 },
  { id: 2, stock: 10 },
  { id: 3, stock: 1 },
];

function* orderNaive(tx: Tx<StockDb>, a: { product: number }) {
  const p = yield* tx.selectOne('products', { id: a.product });
  if (!p || p.stock < 1) return yield* tx.rollback('sold-out');
  yield* tx.update('products', { id: a.product }, { stock: p.stock - 1 });
  yield* tx.insert('orders', { id: tx.id, product: a.product });
  return yield* tx.commit('ok');
}

function* orderForUpdate(tx: Tx<StockDb>, a: { product: number }) {
  const p = yield* tx.selectOne('products', { id: a.product }, { lock: 'update' });
  if (!p || p.stock < 1) return yield* tx.rollback('sold-out');
  yield* tx.update('products', { id: a.product }, { stock: p.stock - 1 });
  yield* tx.insert('orders', { id: tx.id, product: a.product });
  return yield* tx.commit('ok');
}

function* orderAtomic(tx: Tx<StockDb>, a: { product: number }) {
  const changed = yield* tx.update('products', { id: a.product, stock: { gte: 1 } }, { stock: { add: -1 } });
  if (changed.length === 0) return yield* tx.rollback('sold-out');
  yield* tx.insert('orders', { id: tx.id, product: a.product });
  return yield* tx.commit('ok');
}

const orderOperation: Operation<StockDb, { product: number }> = {
  args: fc.constantFrom(3, 2).map((product) => ({ product })),
  serial(state, a, { id }) {
    const p = state.products.find((r) => r.id === a.product);
    if (!p || p.stock < 1) return 'sold-out';
    p.stock -= 1;
    state.orders.push({ id, product: a.product });
    return 'ok';
  },
};

/** Per product: successes = min(orders, stock), stock = S - successes (never negative), one order row per success. */
const neverOversold: Invariant<StockDb> = {
  name: 'never-oversold',
  check: ({ initial, final, outcomes }) => {
    for (const p of final.products) {
      const s = initial.products.find((r) => r.id === p.id)!.stock;
      const orders = outcomes.filter((o) => (o.args as { product: number }).product === p.id);
      const ok = withResult(orders, 'ok').length;
      const rows = final.orders.filter((r) => r.product === p.id).length;
      if (p.stock < 0) return `Product ${p.id}'s stock ended at ${p.stock}: oversold.`;
      if (rows > s) return `Product ${p.id} has ${plural(rows, 'order')} for a stock of ${s}: oversold.`;
      if (p.stock !== s - ok) return `Product ${p.id}'s stock ended at ${p.stock}, but ${plural(ok, 'successful order')} from ${s} should leave ${s - ok}: an update was lost.`;
      if (rows !== ok) return `Product ${p.id} has ${plural(rows, 'order row')} for ${plural(ok, 'successful order')}.`;
      const due = Math.min(orders.length, s);
      if (ok !== due) return `${plural(ok, 'order')} of product ${p.id} succeeded, but min(${orders.length} orders, ${s} in stock) = ${due} should have.`;
    }
    return null;
  },
};

export const orderStock = defineScenario({
  id: 'order-stock',
  title: 'stock S; K concurrent orders of 1 (1000 in stock and 500 orders; 10 and 12; 1 and 2)',
  schema: stockSchema,
  seed: { products: stockSeed, orders: [] },
  isolationLevels,
  operations: { order: orderOperation },
  strategies: {
    naive: {
      description: 'read the stock, decide in the application, write stock - 1',
      programs: { order: orderNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'for-update': {
      description: 'SELECT the product FOR UPDATE, then decide and write',
      programs: { order: orderForUpdate },
      // Under repeatable read the loser gets 40001 instead of its order.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update': {
      description: 'one UPDATE products SET stock = stock - 1 WHERE stock >= 1',
      programs: { order: orderAtomic },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update-retry': {
      description: `one conditional UPDATE; ${retryNote}`,
      programs: { order: retrying(orderAtomic) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive order, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { order: retrying(orderNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [neverOversold, everyRequestAnswered],
  transactions: { min: 2, max: 4 },
  canonical: Array.from({ length: 12 }, () => ({ operation: 'order', args: { product: 2 } })),
});

// ============================== payment-confirm ==============================

/** Payments awaiting confirmation; confirming one takes 1 from its product's stock and gives the user 10 points. */
export const paymentSchema = defineSchema({
  payments: { columns: { id: 'int', product: 'int', user: 'int', status: 'text' }, primaryKey: ['id'] },
  products: { columns: { id: 'int', stock: 'int' }, primaryKey: ['id'] },
  accounts: { columns: { id: 'int', points: 'int' }, primaryKey: ['id'] },
});

export type PaymentDb = DatabaseOf<typeof paymentSchema>;

const rewardPoints = 10;

/** Stock and points move, in the same order (product, then account) in every strategy. */
function* applyPayment(tx: Tx<PaymentDb>, p: PaymentDb['payments']) {
  yield* tx.update('products', { id: p.product }, { stock: { add: -1 } });
  yield* tx.update('accounts', { id: p.user }, { points: { add: rewardPoints } });
}

function* confirmNaive(tx: Tx<PaymentDb>, a: { payment: number }) {
  const p = yield* tx.selectOne('payments', { id: a.payment });
  if (!p || p.status !== 'pending') return yield* tx.rollback('already-confirmed');
  yield* tx.update('payments', { id: a.payment }, { status: 'confirmed' });
  yield* applyPayment(tx, p);
  return yield* tx.commit('ok');
}

function* confirmForUpdate(tx: Tx<PaymentDb>, a: { payment: number }) {
  const p = yield* tx.selectOne('payments', { id: a.payment }, { lock: 'update' });
  if (!p || p.status !== 'pending') return yield* tx.rollback('already-confirmed');
  yield* tx.update('payments', { id: a.payment }, { status: 'confirmed' });
  yield* applyPayment(tx, p);
  return yield* tx.commit('ok');
}

function* confirmAtomic(tx: Tx<PaymentDb>, a: { payment: number }) {
  const [p] = yield* tx.update('payments', { id: a.payment, status: 'pending' }, { status: 'confirmed' });
  if (!p) return yield* tx.rollback('already-confirmed');
  yield* applyPayment(tx, p);
  return yield* tx.commit('ok');
}

const confirmOperation: Operation<PaymentDb, { payment: number }> = {
  args: fc.constantFrom(1, 2, 3).map((payment) => ({ payment })),
  serial(state, a) {
    const p = state.payments.find((r) => r.id === a.payment);
    if (!p || p.status !== 'pending') return 'already-confirmed';
    p.status = 'confirmed';
    state.products.find((r) => r.id === p.product)!.stock -= 1;
    state.accounts.find((r) => r.id === p.user)!.points += rewardPoints;
    return 'ok';
  },
};

/** Each payment sent for confirmation ended confirmed exactly once, and the stock and points moved exactly once per confirmed payment. */
const confirmedOnce: Invariant<PaymentDb> = {
  name: 'confirmed-once',
  check: ({ initial, final, outcomes }) => {
    for (const p of final.payments) {
      const ok = outcomes.filter((o) => (o.args as { payment: number }).payment === p.id && o.result === 'ok').length;
      if (ok > 1) return `Payment ${p.id} was confirmed ${plural(ok, 'time')}, not once.`;
      if ((p.status === 'confirmed') !== (ok === 1)) return `Payment ${p.id} is ${p.status} but ${plural(ok, 'confirmation')} reported success.`;
    }
    const confirmed = final.payments.filter((p) => p.status === 'confirmed').length;
    const stockMoved = initial.products[0].stock - final.products[0].stock;
    if (stockMoved !== confirmed) return `The stock moved by ${stockMoved} for ${plural(confirmed, 'confirmed payment')}.`;
    const points = final.accounts[0].points - initial.accounts[0].points;
    if (points !== rewardPoints * confirmed) return `The user got ${points} points for ${plural(confirmed, 'confirmed payment')}, not ${rewardPoints * confirmed}.`;
    for (const o of outcomes) {
      const p = final.payments.find((r) => r.id === (o.args as { payment: number }).payment)!;
      if (p.status !== 'confirmed') return `Payment ${p.id} was sent for confirmation but ended ${p.status}.`;
    }
    return null;
  },
};

export const paymentConfirm = defineScenario({
  id: 'payment-confirm',
  title: 'concurrent confirmations of 3 payments, the same payment twice among them',
  schema: paymentSchema,
  seed: {
    payments: [1, 2, 3].map((id) => ({ id, product: 1, user: 1, status: 'pending' })),
    products: [{ id: 1, stock: 10 }],
    accounts: [{ id: 1, points: 0 }],
  },
  isolationLevels,
  operations: { confirm: confirmOperation },
  strategies: {
    naive: {
      description: 'read the payment, check it is pending in the application, mark it confirmed and move stock and points',
      programs: { confirm: confirmNaive },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'for-update': {
      description: 'SELECT the payment FOR UPDATE, then check and confirm',
      programs: { confirm: confirmForUpdate },
      // Under repeatable read two payments of one product race for its stock row: the loser gets 40001 and stays pending.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update': {
      description: "UPDATE payments SET status = 'confirmed' WHERE status = 'pending'; move stock and points only if a row changed",
      programs: { confirm: confirmAtomic },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'atomic-update-retry': {
      description: `the conditional UPDATE of atomic-update; ${retryNote}`,
      programs: { confirm: retrying(confirmAtomic) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
    'serializable-retry': {
      description: 'the naive confirmation, run again from the start on 40001 (meant for SERIALIZABLE)',
      programs: { confirm: retrying(confirmNaive, onSerializationFailure) },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [confirmedOnce, everyRequestAnswered],
  transactions: { min: 2, max: 4 },
  canonical: [1, 1, 2, 3, 3].map((payment) => ({ operation: 'confirm', args: { payment } })),
});
