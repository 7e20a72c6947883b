import type { IsolationLevel } from '../adapters/backend.ts';
import type { Scenario, Workload } from '../model/scenario.ts';
import type { Counterexample } from './counterexample.ts';
import { checkScenario } from '../model/check-scenario.ts';
import { InterruptedError } from '../errors.ts';
import { checkExploreOptions } from './explore-options.ts';
import { checkSerialSpec } from './serial-spec-check.ts';
import { assembleReport, prepareExploration, progressEvery, reportBase } from './exploration.ts';
import type { SearchMode } from './search-mode.ts';

/** What to explore. */
export interface ExploreOptions {
  readonly scenario: Scenario;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  /** Random runs before declaring the strategy passed. */
  readonly runs: number;
  /** fast-check seed: the same seed gives the same runs and the same counterexample. */
  readonly seed: number;
  /** Largest workload; defaults to the scenario's. */
  readonly maxTransactions?: number;
  /** How schedules are searched (see `SearchMode`); `default` unless given. */
  readonly mode?: SearchMode;
  /** One fixed workload to explore instead of generated ones (`--workload FILE`). */
  readonly workload?: Workload;
  /** Exhaustive search without `workload`: the scenario's default workload of this many transactions (default 3, at most the scenario's largest). */
  readonly transactions?: number;
  /** Exhaustive search: cut schedules at this many preemptions (a bounded search, not a proof). */
  readonly preemptionBound?: number;
  /** PCT depth d: d - 1 priority change points (default 2). */
  readonly depth?: number;
  /** Stop searching after this many milliseconds and report what was covered (`stats.stoppedByTime`); shrinking a failure found in time is not cut. */
  readonly maxTimeMs?: number;
  /** Called, synchronously, every 500 runs (or 25 exhaustive schedules) with what was searched so far; the CLI prints it. */
  readonly onProgress?: (progress: ExploreProgress) => void;
  /** Checked between runs (a synchronous search sees it abort only from `onProgress`): then `explore` throws an `InterruptedError`. */
  readonly signal?: AbortSignal;
}

/** How far a search has got, for `onProgress`. */
export interface ExploreProgress {
  /** Runs (schedules, in exhaustive mode) so far. */
  readonly runs: number;
  readonly elapsedMs: number;
}

/** Timing of an exploration; the only part of a report that varies between identical runs. */
export interface ExploreStats {
  readonly runs: number;
  readonly shrinks: number;
  readonly elapsedMs: number;
  readonly runsPerSecond: number;
  /** Exhaustive search: schedules executed. */
  readonly schedules?: number;
  /** Exhaustive search: distinct runs up to reordering independent steps. */
  readonly traces?: number;
  /** Exhaustive search: schedules a search without partial-order reduction would run for the same traces. */
  readonly naiveInterleavings?: number;
  /** Exhaustive search: every schedule was covered (false when it stopped at a violation or at the preemption bound). */
  readonly complete?: boolean;
  /** Exhaustive search: prefixes not run further because they reached a state already explored (state caching). */
  readonly prunedPrefixes?: number;
  /** Exhaustive search: distinct final outcomes (final tables and every transaction's result, fate, error and attempts), of the runs to the end and of those they stand for with interchangeable transactions swapped (`interchangeable`). */
  readonly outcomes?: number;
  /** Exhaustive search: schedules run per distinct final outcome, to two decimals: how close to one run per behaviour the search came. */
  readonly schedulesPerOutcome?: number;
  /** The search stopped at `maxTimeMs` before it ran everything asked for. */
  readonly stoppedByTime?: boolean;
  /** Exhaustive search: transactions taken for interchangeable, each with another running the same operation on the same arguments (none read `tx.id`): a state was explored once whichever of them brought it about. */
  readonly interchangeable?: number;
}

/** The result of an exploration. */
export interface ExploreReport {
  readonly scenario: string;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  readonly seed: number;
  readonly runs: number;
  readonly mode: SearchMode;
  readonly status: 'passed' | 'failed';
  readonly counterexample?: Counterexample;
  readonly stats: ExploreStats;
}

export { checkedRun, progressEvery, type CheckedRun } from './exploration.ts';

/**
 * Explores workloads and schedules of a scenario under one strategy, searching
 * as `options.mode` says (`search-mode.ts`: PCT mixed with random choice lists
 * by default, random, PCT, or exhaustive), and shrinks a failing run with
 * fast-check's shrinker: the workload first (fewer transactions, then smaller
 * arguments), then the choices (fewer, and toward 0, which removes
 * preemptions), then bounded exhaustive searches (`minimizeWithSearch`).
 * Every unsafe strategy of the points scenarios shrinks to 2 transactions and
 * 1 preemption (asserted by the property suites).
 *
 * ```ts
 * const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 });
 * report.counterexample?.preemptions; // 1
 * ```
 */
export function explore(options: ExploreOptions): ExploreReport {
  const parts = exploreInParts(options, options.maxTimeMs !== undefined || options.onProgress !== undefined || options.signal !== undefined);
  for (;;) {
    const next = parts.next();
    if (next.done) return next.value;
  }
}

/**
 * `explore`, giving the event loop a turn between parts of the search (500
 * runs, or 25 schedules of an exhaustive search), so that `signal` can abort from a timer or a
 * signal handler: it then rejects with an `InterruptedError`. The same runs
 * and the same report as `explore`.
 *
 * ```ts
 * const report = await exploreAsync({ ...options, signal: AbortSignal.timeout(60_000) });
 * ```
 */
export async function exploreAsync(options: ExploreOptions): Promise<ExploreReport> {
  const parts = exploreInParts(options, true);
  for (;;) {
    const next = parts.next();
    if (next.done) return next.value;
    await new Promise((resolve) => setImmediate(resolve));
    if (options.signal?.aborted) throw new InterruptedError();
  }
}

/** The search, in one go or in parts (the same runs), yielding between parts; returns the report. */
function* exploreInParts(options: ExploreOptions, inParts: boolean): Generator<void, ExploreReport> {
  checkScenario(options.scenario);
  checkExploreOptions(options);
  checkSerialSpec(options.scenario, options.strategy);
  const started = performance.now();
  const exploration = prepareExploration(options);
  const base = reportBase({ ...options, scenario: options.scenario.id });
  if (!inParts) {
    const result = exploration.run(0, exploration.size);
    const shrunk = result.failure !== undefined ? exploration.shrink(result) : undefined;
    return assembleReport(base, exploration.size, [result], shrunk, performance.now() - started);
  }
  // In parts (the same runs as in one go), looking at the clock and the signal between them.
  const deadline = options.maxTimeMs === undefined ? Infinity : started + options.maxTimeMs;
  const results = [];
  let covered = 0;
  while (covered < exploration.size) {
    const to = Math.min(exploration.size, covered + (base.mode === 'exhaustive' ? 1 : progressEvery));
    const result = yield* exploration.runSteps(covered, to);
    results.push(result);
    covered = to;
    if (result.failure !== undefined) break;
    if (base.mode !== 'exhaustive') options.onProgress?.({ runs: covered, elapsedMs: Math.round(performance.now() - started) });
    if (options.signal?.aborted) throw new InterruptedError();
    if (performance.now() >= deadline) break;
    yield;
  }
  const failing = results.find((r) => r.failure !== undefined);
  const shrunk = failing ? exploration.shrink(failing) : undefined;
  const report = assembleReport(base, covered, results, shrunk, performance.now() - started);
  const cut = !failing && (covered < exploration.size || results.some((r) => r.units?.some((u) => u.stoppedByTime)));
  return cut ? { ...report, stats: { ...report.stats, stoppedByTime: true } } : report;
}

