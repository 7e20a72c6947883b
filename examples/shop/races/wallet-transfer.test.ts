import { describe, expect, it } from 'vitest';
import { expectRace, expectRaceFree, verdictSuite } from 'lockstep/vitest';
import { walletTransfer } from './wallet-transfer.ts';

// One test per strategy and isolation level, each asserting the verdict the strategy declares in `expected`.
verdictSuite(walletTransfer);

describe('wallet-transfer, the races themselves', () => {
  it('naive read-check-write creates credit out of thin air: a lost update', () => {
    const report = expectRace(
      { scenario: walletTransfer, strategy: 'naive' },
      { rule: 'credit-conserved', anomaly: 'lost update', transactions: 2, preemptions: 1 },
    );
    expect(report.counterexample!.violation.message).toBe('The wallets hold 360 credits in all, but transfers only move credit: they held 300.');
  });

  it('locking in request order deadlocks two opposite transfers: one gets 40P01', () => {
    const report = expectRace(
      { scenario: walletTransfer, strategy: 'lock-in-request-order' },
      { rule: 'every-request-answered', anomaly: null, transactions: 2, preemptions: 1 },
    );
    const [t1, t2] = report.counterexample!.transactions;
    expect(t1.args).toEqual({ from: 1, to: 2, amount: 60 });
    expect(t2.args).toEqual({ from: 2, to: 1, amount: 70 });
    expect(report.counterexample!.steps.some((s) => s.outcome === 'error 40P01: deadlock detected')).toBe(true);
  });

  it('locking in id order passes every schedule of three transfers (exhaustive search)', () => {
    const report = expectRaceFree({ scenario: walletTransfer, strategy: 'lock-in-id-order', mode: 'exhaustive', transactions: 3 });
    expect(report.stats.complete).toBe(true);
  });
});
