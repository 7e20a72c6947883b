import { describe, expect, it } from 'vitest';
import { replay } from 'lockstep';
import { expectRace } from 'lockstep/vitest';
import { couponLimit } from './coupon-limit.ts';
import { walletTransfer } from './wallet-transfer.ts';

// PostgreSQL comes from DATABASE_URL when it is set, else lockstep starts an embedded server for the
// replay and stops it after. When neither can be had, replay() throws and the test fails: it never skips.
describe('the coupon race on real PostgreSQL', () => {
  it('PostgreSQL does what the model predicted, and lets the third redemption through', async () => {
    const { counterexample } = expectRace({ scenario: couponLimit, strategy: 'naive' }, { rule: 'at-most-two-per-customer' });
    const report = await replay(counterexample!);
    expect(report.status).toBe('confirmed');
    expect(report.violationReproduced).toBe(true);
    expect(report.finalState.postgres!.redemptions).toHaveLength(3);
  });
});

describe('the transfer deadlock on real PostgreSQL', () => {
  it('PostgreSQL aborts the same transfer with 40P01 as the model', async () => {
    const { counterexample } = expectRace({ scenario: walletTransfer, strategy: 'lock-in-request-order' }, { rule: 'every-request-answered' });
    const report = await replay(counterexample!);
    expect(report.status).toBe('confirmed');
    expect(report.transactions.map((t) => t.postgres)).toEqual(['aborted', 'committed']);
    expect(report.steps.find((s) => s.postgres.error)?.postgres.error?.code).toBe('40P01');
  });
});
