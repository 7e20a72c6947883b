import { fc } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { scheduleArbitrary } from '../src/explorer/arbitraries.ts';
import { checkedRun } from '../src/explorer/explore.ts';
import { runOnEngine } from '../src/explorer/runner.ts';
import { stepOrder } from '../src/explorer/schedule.ts';
import { explore, type Scenario } from '../src/index.ts';
import { pointsAdd, pointsDeduct, pointsMixed } from '../src/model/scenarios/points.ts';
import { expectRace } from '../src/vitest.ts';
import { propertySeed } from './seed.ts';

const balance = (tables: any) => tables.accounts[0].balance as number;

function canonicalRuns(scenario: Scenario, strategy: string, runs: number) {
  const engine = new MemoryEngine(scenario.schema);
  const n = scenario.canonical.length;
  return fc
    .sample(scheduleArbitrary(n, n * 8), { numRuns: runs, seed: propertySeed })
    .map((choices) => checkedRun(engine, { scenario, strategy: scenario.strategies[strategy], isolation: 'read-committed', workload: scenario.canonical }, choices));
}

describe('points-deduct', () => {
  it('naive: a lost update, shrunk to T1 reading, T2 running to commit, then T1 writing', () => {
    const report = expectRace(
      { scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 2000, seed: propertySeed },
      { rule: 'balance-matches-successes', anomaly: 'lost update', transactions: 2, preemptions: 1 },
    );
    const cx = report.counterexample!;
    expect(cx.transactions).toEqual([
      { id: 1, operation: 'deduct', args: { user: 1, amount: 300 } },
      { id: 2, operation: 'deduct', args: { user: 1, amount: 300 } },
    ]);
    expect([
      [1, 2, 2, 2, 2, 1, 1, 1],
      [2, 1, 1, 1, 1, 2, 2, 2],
    ]).toContainEqual(cx.schedule);
    expect(cx.preemptions).toBe(1);
    expect(cx.violation).toEqual({
      kind: 'invariant',
      invariant: 'balance-matches-successes',
      message: 'The balance ended at 2700, but 2 successful operations from 3000 should leave 2400: an update was lost.',
    });
    expect(cx.final.accounts).toEqual([{ id: 1, balance: 2700 }]);
  });

  it('for-update and atomic-update: 10 deductions of 300 from 3000 all succeed and leave 0, under any schedule', () => {
    for (const strategy of ['for-update', 'atomic-update']) {
      for (const { trace, violation } of canonicalRuns(pointsDeduct, strategy, 100)) {
        expect(violation).toBeNull();
        expect(trace.outcomes.filter((o) => o.result === 'ok')).toHaveLength(10);
        expect(balance(trace.final)).toBe(0);
        expect(trace.final.history).toHaveLength(10);
      }
    }
  });

  it('advisory-lock: under read committed 10 deductions of 300 from 3000 all succeed and leave 0; under repeatable read the waiters that took their snapshot before the lock was free fail with 40001, and the balance matches the successes', () => {
    for (const { trace, violation } of canonicalRuns(pointsDeduct, 'advisory-lock', 100)) {
      expect(violation).toBeNull();
      expect(trace.outcomes.filter((o) => o.result === 'ok')).toHaveLength(10);
      expect(balance(trace.final)).toBe(0);
    }
    const engine = new MemoryEngine(pointsDeduct.schema);
    const workload = pointsDeduct.canonical.slice(0, 2);
    // T1 takes the lock; T2 waits for it; T1 reads, writes and commits; T2 reads the balance of its snapshot (3000) and its write fails.
    const { trace, violation } = checkedRun(engine, { scenario: pointsDeduct, strategy: pointsDeduct.strategies['advisory-lock'], isolation: 'repeatable-read', workload }, []);
    expect(violation).toBeNull();
    expect(trace.outcomes.map((o) => o.result ?? o.error?.code)).toEqual(['ok', 'ok']);
    const order = [1, 2, 1, 1, 1, 1, 2, 2];
    const run = runOnEngine(engine, { scenario: pointsDeduct, strategy: pointsDeduct.strategies['advisory-lock'], isolation: 'repeatable-read', workload }, stepOrder(order));
    expect(run.steps[1].events).toEqual([{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
    expect(run.steps[6].events).toEqual([{ tx: 2, kind: 'completed', result: { rows: [{ id: 1, balance: 3000 }] } }]);
    expect(run.outcomes.map((o) => o.error?.code ?? o.result)).toEqual(['ok', '40001']);
    expect(balance(run.final)).toBe(2700);
  });

  it('a deduction larger than the balance is refused and changes nothing', () => {
    const engine = new MemoryEngine(pointsDeduct.schema);
    const workload = [
      { operation: 'deduct', args: { user: 1, amount: 2700 } },
      { operation: 'deduct', args: { user: 1, amount: 600 } },
    ];
    const { trace, violation } = checkedRun(engine, { scenario: pointsDeduct, strategy: pointsDeduct.strategies['atomic-update'], isolation: 'read-committed', workload }, []);
    expect(violation).toBeNull();
    expect(trace.outcomes.map((o) => o.result)).toEqual(['ok', 'insufficient']);
    expect(balance(trace.final)).toBe(300);
  });
});

describe('points-add', () => {
  it('for-update and atomic-update: 10 additions of 100 to 1000 end at 2000 with 10 history rows', () => {
    for (const strategy of ['for-update', 'atomic-update']) {
      for (const { trace, violation } of canonicalRuns(pointsAdd, strategy, 100)) {
        expect(violation).toBeNull();
        expect(balance(trace.final)).toBe(2000);
        expect(trace.final.history).toHaveLength(10);
      }
    }
  });
});

describe('points-mixed', () => {
  it('for-update and atomic-update: 5 x +100 and 5 x -100 on 2000 end at 2000 with 10 history rows', () => {
    for (const strategy of ['for-update', 'atomic-update']) {
      for (const { trace, violation } of canonicalRuns(pointsMixed, strategy, 100)) {
        expect(violation).toBeNull();
        expect(trace.outcomes.every((o) => o.result === 'ok')).toBe(true);
        expect(balance(trace.final)).toBe(2000);
        expect(trace.final.history).toHaveLength(10);
      }
    }
  });
});

describe('determinism', () => {
  it('the same seed gives the same report, byte for byte, apart from timing', () => {
    const run = () => {
      const { stats, ...rest } = explore({ scenario: pointsMixed, strategy: 'naive', isolation: 'read-committed', runs: 5000, seed: 7 });
      return JSON.stringify(rest);
    };
    expect(run()).toBe(run());
  });
});
