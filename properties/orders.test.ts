import { describe, expect, it } from 'vitest';
import { orderStock, paymentConfirm } from '../src/model/scenarios/orders.ts';
import { passing, randomRuns, resultCounts } from './runs.ts';

const orders = (product: number, k: number) => Array.from({ length: k }, () => ({ operation: 'order', args: { product } }));
const stockOf = (run: any, product: number) => run.trace.final.products.find((p: any) => p.id === product).stock;

describe('order-stock', () => {
  it('stock 10, 12 concurrent orders: successes = min(K, S) = 10, stock 0, never oversold', () => {
    for (const [strategy, isolation] of passing(orderStock)) {
      for (const run of randomRuns(orderStock, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 10, 'sold-out': 2 });
        expect(stockOf(run, 2)).toBe(0);
      }
    }
  });

  it('the seed\'s numbers: stock 1000, 500 concurrent orders all succeed and leave 500', () => {
    for (const [strategy, isolation] of passing(orderStock)) {
      for (const run of randomRuns(orderStock, strategy, isolation, 3, orders(1, 500))) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 500 });
        expect(stockOf(run, 1)).toBe(500);
        expect(run.trace.final.orders).toHaveLength(500);
      }
    }
  });

  it('stock 1, 3 concurrent orders: exactly one succeeds', () => {
    for (const [strategy, isolation] of passing(orderStock)) {
      for (const run of randomRuns(orderStock, strategy, isolation, 200, orders(3, 3))) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 1, 'sold-out': 2 });
        expect(stockOf(run, 3)).toBe(0);
      }
    }
  });
});

describe('payment-confirm', () => {
  it('confirmations of payments 1, 1, 2, 3, 3: each payment confirmed once; stock and points move once per payment', () => {
    for (const [strategy, isolation] of passing(paymentConfirm)) {
      for (const run of randomRuns(paymentConfirm, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 3, 'already-confirmed': 2 });
        expect(run.trace.final.payments.map((p: any) => p.status)).toEqual(['confirmed', 'confirmed', 'confirmed']);
        expect(stockOf(run, 1)).toBe(7);
        expect(run.trace.final.accounts).toEqual([{ id: 1, points: 30 }]);
      }
    }
  });
});
