import { describe, expect, it } from 'vitest';
import { orderLines } from '../src/model/scenarios/order-lines.ts';
import { passing, randomRuns } from './runs.ts';

describe('order-lines', () => {
  it('10 in stock, 6 orders of 1, 2, 3, 1, 2, 3: the orders placed take at most 10, one line each, none lost to a deadlock', () => {
    for (const [strategy, isolation] of passing(orderLines)) {
      for (const run of randomRuns(orderLines, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        const placed = run.trace.outcomes.filter((o: any) => o.result === 'ok');
        const taken = placed.reduce((sum: number, o: any) => sum + o.args.qty, 0);
        expect(taken).toBeLessThanOrEqual(10);
        // 1+2+3+1+2 = 9, so at least five orders fit whatever the order.
        expect(placed.length).toBeGreaterThanOrEqual(4);
        expect(run.trace.final.products).toEqual([{ id: 1, stock: 10 - taken }]);
        expect(run.trace.final.order_lines).toHaveLength(placed.length);
        expect(run.trace.outcomes.every((o: any) => o.result === 'ok' || o.result === 'sold-out')).toBe(true);
      }
    }
  });
});
