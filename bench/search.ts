import * as fc from 'fast-check';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { checkRun } from '../src/explorer/violation.ts';
import { exploreExhaustively } from '../src/explorer/exhaustive.ts';
import { explore } from '../src/explorer/explore.ts';
import { defaultWorkload } from '../src/explorer/workloads.ts';
import type { RunPlan } from '../src/explorer/runner.ts';
import { pointsDeduct } from '../src/model/scenarios/points.ts';
import type { Workload } from '../src/model/scenario.ts';
import { traceUnderScheduler } from './scheduler-run.ts';

const deductSpec = (strategy: string, workload: Workload): RunPlan => ({ scenario: pointsDeduct, strategy: pointsDeduct.strategies[strategy], isolation: 'read-committed', workload });

/** Schedules per second of exhaustive search on the two-transaction read-modify-write race (points-deduct naive, every trace, not stopping at the violation). */
export function exhaustiveSchedulesPerSecond(repeats: number): number {
  const engine = new MemoryEngine(pointsDeduct.schema);
  const spec = deductSpec('naive', defaultWorkload(pointsDeduct, 2));
  let schedules = 0;
  for (let i = 0; i < repeats / 10; i++) exploreExhaustively(engine, spec, { stopOnViolation: false });
  const started = performance.now();
  for (let i = 0; i < repeats; i++) schedules += exploreExhaustively(engine, spec, { stopOnViolation: false }).schedules;
  return schedules / ((performance.now() - started) / 1000);
}

/** Exhaustive search of points-deduct's default workload of `n` transactions under one strategy, to the end. */
export function exhaustiveDeduct(strategy: string, n: number): { schedules: number; traces: number; naive: number; seconds: number; failed: boolean } {
  const engine = new MemoryEngine(pointsDeduct.schema);
  const started = performance.now();
  const r = exploreExhaustively(engine, deductSpec(strategy, defaultWorkload(pointsDeduct, n)), { stopOnViolation: false });
  return { schedules: r.schedules, traces: r.traces, naive: r.naiveInterleavings, seconds: (performance.now() - started) / 1000, failed: r.failure !== undefined };
}

/** Shrink quality of lockstep's default search: over `seeds` seeds of points-deduct naive with 2 to 6 transactions, the share ending at 2 transactions and 1 preemption. */
export function lockstepShrinkQuality(seeds: number): number {
  let minimal = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const r = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 10_000, seed, maxTransactions: 6 });
    const cx = r.counterexample;
    if (cx && cx.transactions.length === 2 && cx.preemptions === 1) minimal++;
  }
  return minimal / seeds;
}

/**
 * The same with `fc.scheduler`: a workload of 2 to 6 deductions (fast-check
 * shrinks the list) whose transactions each await a scheduled promise before
 * every statement on the same engine; the interleaving is whatever the
 * scheduler did, which fast-check does not shrink toward fewer preemptions.
 */
export async function fcSchedulerShrinkQuality(seeds: number): Promise<number> {
  const engine = new MemoryEngine(pointsDeduct.schema);
  const tx = fc.integer({ min: 1, max: 10 }).map((k) => ({ operation: 'deduct', args: { user: 1, amount: 300 * k } }));
  let minimal = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    let last: { txs: number; preemptions: number } | undefined;
    const property = fc.asyncProperty(fc.array(tx, { minLength: 2, maxLength: 6 }), fc.scheduler(), async (workload, s) => {
      const trace = await traceUnderScheduler(engine, deductSpec('naive', workload), s);
      const ok = checkRun(pointsDeduct, trace) === null;
      if (!ok) last = { txs: workload.length, preemptions: trace.preemptions };
      return ok;
    });
    await fc.check(property, { seed, numRuns: 10_000 });
    if (last && last.txs === 2 && last.preemptions === 1) minimal++;
  }
  return minimal / seeds;
}
