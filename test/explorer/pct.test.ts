import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { explore } from '../../src/explorer/explore.ts';
import { defaultWorkload } from '../../src/explorer/workloads.ts';
import { pctArbitrary, pctChooser } from '../../src/explorer/pct.ts';
import { runOnEngine } from '../../src/explorer/runner.ts';
import { pointsDeduct } from '../../src/model/scenarios/points.ts';

const spec = { scenario: pointsDeduct, strategy: pointsDeduct.strategies.naive, isolation: 'read-committed' as const, workload: defaultWorkload(pointsDeduct, 3) };

describe('PCT schedules', () => {
  it('depth 1 runs the transactions serially, highest priority first', () => {
    const trace = runOnEngine(new MemoryEngine(pointsDeduct.schema), spec, pctChooser({ ranks: [5, 9, 1], changes: [] }, 1, 12));
    expect(trace.steps.map((s) => s.tx)).toEqual([2, 2, 2, 2, 1, 1, 1, 1, 3, 3, 3, 3]);
    expect(trace.preemptions).toBe(0);
  });

  it('a change point drops the running transaction below the others', () => {
    // T1 has the highest priority; at step 2 (5462/65536 of 12 steps, rounded down, plus 1) it drops, so T2 then T3 run before T1 goes on.
    const trace = runOnEngine(new MemoryEngine(pointsDeduct.schema), spec, pctChooser({ ranks: [9, 5, 1], changes: [5462] }, 2, 12));
    expect(trace.steps.map((s) => s.tx)).toEqual([1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1]);
    expect(trace.preemptions).toBe(1);
  });

  it('the same seed draws the same schedules', () => {
    const a = fc.sample(pctArbitrary(3, 3), { numRuns: 20, seed: 42 });
    const b = fc.sample(pctArbitrary(3, 3), { numRuns: 20, seed: 42 });
    expect(a).toEqual(b);
    expect(a.every((p) => p.ranks.length === 3 && p.changes.length === 2)).toBe(true);
  });
});

describe('search modes of explore', () => {
  for (const mode of ['pct', 'default', 'random'] as const) {
    it(`${mode}: finds the lost update, shrinks it to 2 transactions and 1 preemption, and is reproducible from the seed`, () => {
      const options = { scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed' as const, runs: 1000, seed: 7, mode };
      const a = explore(options);
      const b = explore(options);
      expect(a.status).toBe('failed');
      expect(a.mode).toBe(mode);
      expect(a.counterexample!.transactions).toHaveLength(2);
      expect(a.counterexample!.preemptions).toBe(1);
      expect(a.counterexample).toEqual(b.counterexample);
      expect(a.stats.runs).toBe(b.stats.runs);
    });
  }

  it('a fixed workload is explored as given and still shrunk', () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 3, workload: defaultWorkload(pointsDeduct, 4) });
    expect(report.status).toBe('failed');
    expect(report.counterexample!.transactions).toHaveLength(2);
    expect(report.counterexample!.preemptions).toBe(1);
  });

  it('pct passes a safe strategy', () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', runs: 300, seed: 1, mode: 'pct', depth: 3 });
    expect(report.status).toBe('passed');
    expect(report.stats.runs).toBe(300);
  });
});
