import { describe, expect, it } from 'vitest';
import { deadlockRetry, dirtyRead, optimisticConflict } from '../src/model/scenarios/isolation.ts';
import { expectRace } from '../src/vitest.ts';
import { passing, randomRuns, resultCounts, runInOrder } from './runs.ts';
import { propertySeed } from './seed.ts';

describe('dirty-read', () => {
  const workload = [
    { operation: 'decline', args: { amount: 100 } },
    { operation: 'read', args: {} },
  ];

  it('autocommit: a read between the write and its compensation sees a balance that was never meant to exist (2 transactions, 1 preemption)', () => {
    for (const isolation of dirtyRead.isolationLevels) {
      const { trace, violation } = runInOrder(dirtyRead, 'autocommit', isolation, workload, [1, 1, 2, 2, 1, 1]);
      expect(trace.preemptions).toBe(1);
      expect(trace.outcomes[1].result).toBe(900);
      expect(violation).toMatchObject({ invariant: 'no-dirty-read' });
    }
  });

  it('one-transaction: a reader never sees the uncommitted write, at any level', () => {
    for (const [strategy, isolation] of passing(dirtyRead)) {
      for (const run of randomRuns(dirtyRead, strategy, isolation, 200)) {
        expect(run.violation).toBeNull();
        expect(run.trace.outcomes[1].result).toBe(1000);
      }
    }
  });
});

describe('optimistic-conflict', () => {
  it('optimistic: of two updates of one versioned row the second detects the conflict and retries; both end applied, one at a time', () => {
    for (const [strategy, isolation] of passing(optimisticConflict)) {
      const runs = randomRuns(optimisticConflict, strategy, isolation, 200);
      for (const run of runs) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 2 });
        expect(run.trace.final.documents).toEqual([{ id: 1, value: 30, version: 3 }]);
      }
      expect(runs.some((r) => r.trace.outcomes.some((o) => o.attempts > 1))).toBe(true);
    }
  });
});

describe('deadlock-retry', () => {
  it('naive: two transfers locking the accounts in opposite orders deadlock, and PostgreSQL\'s victim (40P01) is lost', () => {
    const report = expectRace(
      { scenario: deadlockRetry, strategy: 'naive', isolation: 'read-committed', runs: 2000, seed: propertySeed },
      { rule: 'every-transfer-applied', preemptions: 1 },
    );
    const cx = report.counterexample!;
    expect(cx.transactions.map((t) => (t.args as any).from).sort()).toEqual([1, 2]);
    const { trace } = runInOrder(deadlockRetry, 'naive', 'read-committed', cx.transactions, cx.schedule);
    expect(trace.outcomes.map((o) => o.error?.code ?? o.fate).sort()).toEqual(['40P01', 'committed']);
    expect(cx.preemptions).toBe(1);
  });

  it('deadlock-retry: both transfers end applied, the victim after a retry', () => {
    for (const [strategy, isolation] of passing(deadlockRetry)) {
      const runs = randomRuns(deadlockRetry, strategy, isolation, 200);
      for (const run of runs) {
        expect(run.violation).toBeNull();
        expect(resultCounts(run)).toEqual({ ok: 2 });
        expect(run.trace.final.accounts).toEqual([
          { id: 1, balance: 1100 },
          { id: 2, balance: 900 },
        ]);
      }
      if (strategy === 'deadlock-retry') expect(runs.some((r) => r.trace.outcomes.some((o) => o.attempts > 1))).toBe(true);
    }
  });
});
