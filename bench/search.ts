import * as fc from 'fast-check';
import { MemoryEngine } from '../src/adapters/memory/engine.ts';
import { checkRun } from '../src/explorer/violation.ts';
import { exploreExhaustively, type ExhaustiveOptions } from '../src/explorer/exhaustive.ts';
import { explore } from '../src/explorer/explore.ts';
import { defaultWorkload } from '../src/explorer/workloads.ts';
import type { RunPlan } from '../src/explorer/runner.ts';
import { counterUpsert } from '../src/model/scenarios/counters.ts';
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

/** Exhaustive search as lockstep 0.1 ran it (coarse footprints, no state caching), as it runs now, and as it runs now without taking alike transactions for interchangeable. */
export type Reduction = 'before' | 'after' | 'no-symmetry';

const reductionOptions: Record<Reduction, ExhaustiveOptions> = {
  before: { independence: 'coarse', stateCache: 0 },
  after: {},
  'no-symmetry': { symmetry: false },
};

/** What one exhaustive search of points-deduct did. */
export interface ExhaustiveMeasure {
  readonly schedules: number;
  readonly traces: number;
  readonly naive: number;
  readonly pruned: number;
  readonly outcomes: number;
  readonly seconds: number;
  readonly complete: boolean;
  readonly failed: boolean;
}

/** Exhaustive search of points-deduct's default workload of `n` transactions under one strategy, to the end (or to `maxSchedules`). */
export function exhaustiveDeduct(strategy: string, n: number, reduction: Reduction = 'after', maxSchedules?: number): ExhaustiveMeasure {
  return measureExhaustive(deductSpec(strategy, defaultWorkload(pointsDeduct, n)), { ...reductionOptions[reduction], maxSchedules });
}

/** One exhaustive search to the end (not stopping at a violation), or to `maxSchedules`, timed. */
function measureExhaustive(spec: RunPlan, options: ExhaustiveOptions): ExhaustiveMeasure {
  const engine = new MemoryEngine(spec.scenario.schema);
  const started = performance.now();
  const r = exploreExhaustively(engine, spec, { ...options, stopOnViolation: false });
  return {
    schedules: r.schedules,
    traces: r.traces,
    naive: r.naiveInterleavings,
    pruned: r.prunedPrefixes,
    outcomes: r.outcomes,
    seconds: (performance.now() - started) / 1000,
    complete: r.complete && r.schedules < (options.maxSchedules ?? Infinity),
    failed: r.failure !== undefined,
  };
}

/**
 * The rows of issue #16's targets, before (lockstep 0.1's reduction) and
 * after (semantic footprints and state caching) in the same run: exhaustive
 * points-deduct for-update with 4, 5 and 6 transactions (6 in <= 2 s and
 * <= 10,000 schedules), 8 transactions (finishes; cut at `cap8` schedules
 * after, not run before), naive with 4 (5x fewer schedules than 19,608), and
 * the 3- and 4-transaction rows of every strategy.
 */
export function exhaustiveRows(fmt: (n: number) => string, cap8 = 200_000): [string, string, string][] {
  const rows: [string, string, string][] = [];
  const describe = (r: ExhaustiveMeasure) =>
    `${fmt(r.schedules)} schedules${r.complete ? '' : ' (cut, not finished)'}, ${fmt(r.traces)} traces, ${fmt(r.pruned)} pruned, ${fmt(r.outcomes)} outcome${r.outcomes === 1 ? '' : 's'}, ${r.seconds.toFixed(3)} s`;
  for (const n of [3, 4]) {
    for (const strategy of ['naive', 'for-update', 'atomic-update']) {
      const r = exhaustiveDeduct(strategy, n);
      rows.push([`exhaustive points-deduct ${strategy}, ${n} txs`, describe(r), n === 3 ? 'target < 1 s' : 'target < 60 s']);
    }
  }
  const naiveBefore = exhaustiveDeduct('naive', 4, 'before');
  const naiveAfter = exhaustiveDeduct('naive', 4, 'after');
  rows.push(['exhaustive points-deduct naive, 4 txs: before (coarse, no cache)', describe(naiveBefore), '']);
  rows.push(['exhaustive points-deduct naive, 4 txs: after', describe(naiveAfter), `${(naiveBefore.schedules / naiveAfter.schedules).toFixed(1)}x fewer schedules (target >= 5x)`]);
  for (const n of [4, 5, 6]) {
    const before = exhaustiveDeduct('for-update', n, 'before');
    const plain = exhaustiveDeduct('for-update', n, 'no-symmetry');
    const after = exhaustiveDeduct('for-update', n, 'after');
    rows.push([`exhaustive points-deduct for-update, ${n} txs: before`, describe(before), '']);
    rows.push([`exhaustive points-deduct for-update, ${n} txs: without symmetry`, describe(plain), '']);
    rows.push([
      `exhaustive points-deduct for-update, ${n} txs: after`,
      describe(after),
      `${(before.schedules / after.schedules).toFixed(2)}x fewer schedules${n === 6 ? '; target <= 2 s and <= 10,000 schedules' : ''}`,
    ]);
  }
  const eight = exhaustiveDeduct('for-update', 8, 'after', cap8);
  rows.push(['exhaustive points-deduct for-update, 8 txs: after', describe(eight), `target: finishes; cut at ${fmt(cap8)} schedules`]);
  const naive6 = exhaustiveDeduct('naive', 6, 'after', cap8);
  rows.push(['exhaustive points-deduct naive, 6 txs: after', describe(naive6), `cut at ${fmt(cap8)} schedules`]);
  // Interchangeable transactions (symmetry.ts): identical hits of one counter, whose programs do not read tx.id (points-deduct's write it into history).
  for (const [strategy, sizes] of [['upsert', [4, 6, 8]], ['naive', [4, 5]]] as const) {
    for (const n of sizes) {
      const without = n <= 6 ? exhaustiveHits(strategy, n, false) : undefined;
      const withSymmetry = exhaustiveHits(strategy, n, true);
      rows.push([`exhaustive counter-upsert ${strategy}, ${n} identical hits: without symmetry`, without ? describe(without) : 'not run', '']);
      rows.push([`exhaustive counter-upsert ${strategy}, ${n} identical hits: interchangeable`, describe(withSymmetry), without ? `${(without.schedules / withSymmetry.schedules).toFixed(1)}x fewer schedules` : '']);
    }
  }
  return rows;
}

/** Exhaustive search of `n` identical hits of counter-upsert's `home` counter under read committed, with or without taking them for interchangeable. */
export function exhaustiveHits(strategy: string, n: number, symmetry: boolean): ExhaustiveMeasure {
  const workload = Array.from({ length: n }, () => ({ operation: 'hit', args: { key: 'home' } }));
  return measureExhaustive({ scenario: counterUpsert, strategy: counterUpsert.strategies[strategy], isolation: 'read-committed', workload }, { symmetry });
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
