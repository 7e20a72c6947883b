import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '../src/model/scenarios/idempotency.ts';
import { passing, randomRuns, resultCounts } from './runs.ts';

describe('idempotency-key', () => {
  it('5 concurrent retries of one payment with one key: exactly 1 charge of 100, the other 4 answered "duplicate", 5 requests counted', () => {
    for (const [strategy, isolation] of passing(idempotencyKey)) {
      for (const run of randomRuns(idempotencyKey, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ charged: 1, duplicate: 4 });
        expect(run.trace.final.accounts).toEqual([{ id: 1, balance: 900 }]);
        expect(run.trace.final.charges).toHaveLength(1);
        expect(run.trace.final.requests).toEqual([{ key: 'order-1', charge: run.trace.final.charges[0].id, seen: 5 }]);
      }
    }
  });
});
