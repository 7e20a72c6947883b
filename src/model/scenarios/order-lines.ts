import * as fc from 'fast-check';
import type { Tx } from '../program.ts';
import { retrying } from '../retry.ts';
import { defineScenario, type Invariant, type Operation } from '../scenario.ts';
import { defineSchema, type DatabaseOf } from '../schema.ts';
import { everyRequestAnswered, plural, withResult } from '../invariants.ts';

/**
 * Order lines that reference a product by foreign key, while the product's
 * stock is decremented: the foreign-key deadlock and its fixes.
 *
 * Inserting an order line checks its product FOR KEY SHARE (PostgreSQL's
 * foreign key trigger). Two orders that each insert their line and then
 * lock the product FOR UPDATE to take the stock (what Django's
 * `select_for_update()` and many hand-written "lock, check, decrement"
 * programs do) each wait for the other's KEY SHARE: a deadlock, and one
 * order is lost with 40P01. Taking the stock first, with a plain UPDATE
 * (FOR NO KEY UPDATE, which a KEY SHARE does not conflict with) or a
 * SELECT ... FOR NO KEY UPDATE, before inserting the line, has no cycle.
 *
 * Scenario: `order-lines`.
 */

const isolationLevels = ['read-committed', 'repeatable-read', 'serializable'] as const;

export const orderLinesSchema = defineSchema({
  products: { columns: { id: 'int', stock: 'int' }, primaryKey: ['id'] },
  order_lines: {
    columns: { id: 'int', product: 'int', qty: 'int' },
    primaryKey: ['id'],
    foreignKeys: [{ columns: ['product'], references: { table: 'products', columns: ['id'] } }],
  },
});

export type OrderLinesDb = DatabaseOf<typeof orderLinesSchema>;

/** An order of `qty` of product 1 (10 in stock). */
export interface LineOrder {
  readonly qty: number;
}

/** naive: insert the order line (its foreign key locks the product FOR KEY SHARE), then lock the product FOR UPDATE, check and take the stock. */
function* orderLinesFirst(tx: Tx<OrderLinesDb>, a: LineOrder) {
  yield* tx.insert('order_lines', { id: tx.id, product: 1, qty: a.qty });
  const p = yield* tx.selectOne('products', { id: 1 }, { lock: 'update' });
  if (!p || p.stock < a.qty) return yield* tx.rollback('sold-out');
  yield* tx.update('products', { id: 1 }, { stock: p.stock - a.qty });
  return yield* tx.commit('ok');
}

/** for-no-key-update: lock the product FOR NO KEY UPDATE first (it does not conflict with a KEY SHARE), check and take the stock, then insert the line. */
function* orderNoKeyUpdateFirst(tx: Tx<OrderLinesDb>, a: LineOrder) {
  const p = yield* tx.selectOne('products', { id: 1 }, { lock: 'no-key-update' });
  if (!p || p.stock < a.qty) return yield* tx.rollback('sold-out');
  yield* tx.update('products', { id: 1 }, { stock: p.stock - a.qty });
  yield* tx.insert('order_lines', { id: tx.id, product: 1, qty: a.qty });
  return yield* tx.commit('ok');
}

/** stock-first: one conditional UPDATE takes the stock (FOR NO KEY UPDATE), then the line is inserted. */
function* orderStockFirst(tx: Tx<OrderLinesDb>, a: LineOrder) {
  const taken = yield* tx.update('products', { id: 1, stock: { gte: a.qty } }, { stock: { add: -a.qty } });
  if (taken.length === 0) return yield* tx.rollback('sold-out');
  yield* tx.insert('order_lines', { id: tx.id, product: 1, qty: a.qty });
  return yield* tx.commit('ok');
}

const orderOperation: Operation<OrderLinesDb, LineOrder> = {
  args: fc.integer({ min: 1, max: 4 }).map((qty) => ({ qty })),
  serial(state, a, { id }) {
    const p = state.products.find((r) => r.id === 1)!;
    if (p.stock < a.qty) return 'sold-out';
    p.stock -= a.qty;
    state.order_lines.push({ id, product: 1, qty: a.qty });
    return 'ok';
  },
};

/** The stock went down by exactly the quantities of the orders placed, never below 0, with one line per order placed. */
const stockMatchesLines: Invariant<OrderLinesDb> = {
  name: 'stock-matches-lines',
  check: ({ initial, final, outcomes }) => {
    const s = initial.products[0].stock;
    const p = final.products[0];
    const placed = withResult(outcomes, 'ok');
    const taken = placed.reduce((sum, o) => sum + (o.args as LineOrder).qty, 0);
    if (p.stock < 0) return `Product 1's stock ended at ${p.stock}: oversold.`;
    if (p.stock !== s - taken) return `Product 1's stock ended at ${p.stock}, but ${plural(placed.length, 'order')} placed for ${taken} from ${s} should leave ${s - taken}.`;
    if (final.order_lines.length !== placed.length) return `${plural(final.order_lines.length, 'order line')} for ${plural(placed.length, 'order')} placed.`;
    return null;
  },
};

export const orderLines = defineScenario({
  id: 'order-lines',
  title: 'product 1 with 10 in stock; concurrent orders each insert an order line referencing it and take its stock',
  schema: orderLinesSchema,
  seed: { products: [{ id: 1, stock: 10 }], order_lines: [] },
  isolationLevels,
  operations: { order: orderOperation },
  strategies: {
    naive: {
      description: 'insert the line (FOR KEY SHARE on the product by its foreign key), then SELECT the product FOR UPDATE: two orders deadlock (40P01)',
      programs: { order: orderLinesFirst },
      expected: { 'read-committed': 'fails', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'for-no-key-update': {
      description: 'SELECT the product FOR NO KEY UPDATE first, take the stock, then insert the line',
      programs: { order: orderNoKeyUpdateFirst },
      // Under repeatable read the waiter gets 40001 on the row the first order changed.
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'stock-first': {
      description: 'one UPDATE products SET stock = stock - qty WHERE stock >= qty first, then insert the line',
      programs: { order: orderStockFirst },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'fails', serializable: 'fails' },
    },
    'stock-first-retry': {
      description: 'the stock-first order; retry on 40001 or 40P01',
      programs: { order: retrying(orderStockFirst) },
      expected: { 'read-committed': 'passes', 'repeatable-read': 'passes', serializable: 'passes' },
    },
  },
  invariants: [stockMatchesLines, everyRequestAnswered],
  transactions: { min: 2, max: 3 },
  canonical: Array.from({ length: 6 }, (_, i) => ({ operation: 'order', args: { qty: (i % 3) + 1 } })),
});
