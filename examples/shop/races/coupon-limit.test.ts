import { describe, expect, it } from 'vitest';
import { expectRace, verdictSuite } from 'lockstep/vitest';
import { couponLimit } from './coupon-limit.ts';

verdictSuite(couponLimit);

describe('coupon-limit, the races themselves', () => {
  it('count-then-insert lets a third redemption through: write skew on a predicate (G2)', () => {
    const report = expectRace(
      { scenario: couponLimit, strategy: 'naive' },
      { rule: 'at-most-two-per-customer', anomaly: 'G2', transactions: 2, preemptions: 1 },
    );
    expect(report.counterexample!.anomaly!.cycle).toBe('T1 -rw-> T2 -rw-> T1');
  });

  it("locking the customer's row is not enough under repeatable read: the snapshot predates the lock", () => {
    expectRace(
      { scenario: couponLimit, strategy: 'lock-customer', isolation: 'repeatable-read' },
      { rule: 'at-most-two-per-customer', anomaly: 'G2', transactions: 2, preemptions: 1 },
    );
  });

  it('under serializable the naive checkout is stopped, but its loser gets an unhandled 40001', () => {
    expectRace(
      { scenario: couponLimit, strategy: 'naive', isolation: 'serializable' },
      { rule: 'every-request-answered', anomaly: null },
    );
  });
});
