import * as fc from 'fast-check';
import type { IsolationLevel } from '../adapters/backend.ts';
import { MemoryEngine } from '../adapters/memory/engine.ts';
import { DefinitionError } from '../errors.ts';
import type { Scenario, Workload } from '../model/scenario.ts';
import { scheduleArbitrary, workloadArbitrary } from './arbitraries.ts';
import { checkRun, type Violation } from './violation.ts';
import { buildCounterexample, type Counterexample } from './counterexample.ts';
import { runWithDependencies } from './dependency-run.ts';
import { exploreExhaustively } from './exhaustive.ts';
import { checkScenario } from '../model/check-scenario.ts';
import { checkExploreOptions } from './explore-options.ts';
import { checkSerialSpec } from './serial-spec-check.ts';
import { defaultWorkload } from './workloads.ts';
import { pctArbitrary, pctChooser, type PctSchedule } from './pct.ts';
import { runOnEngine, type RunPlan, type Trace } from './runner.ts';
import { choiceSchedule, type Chooser } from './schedule.ts';
import { defaultPctDepth, type SearchMode } from './search-mode.ts';
import { minimizeWithSearch, shrinkFailingCase } from './shrink.ts';

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

/** A run of the memory engine and its verdict. */
export interface CheckedRun {
  readonly trace: Trace;
  readonly violation: Violation | null;
}

/** Runs one workload under one choice schedule on `engine` and checks it. */
export function checkedRun(engine: MemoryEngine, spec: RunPlan, choices: readonly number[]): CheckedRun {
  const trace = runOnEngine(engine, spec, choiceSchedule(choices));
  return { trace, violation: checkRun(spec.scenario, trace) };
}

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
  checkScenario(options.scenario);
  checkExploreOptions(options);
  checkSerialSpec(options.scenario, options.strategy);
  const mode = options.mode ?? 'default';
  if (mode === 'exhaustive') return exploreAllSchedules(options);
  if (mode !== 'random' || options.workload) return exploreSampled(options, mode);
  return exploreRandom(options);
}

/** Random mode: fast-check generates workloads and choice lists and shrinks a failing pair itself. */
function exploreRandom(options: ExploreOptions): ExploreReport {
  const { scenario, isolation } = options;
  const strategy = scenario.strategies[options.strategy];
  const maxTransactions = options.maxTransactions ?? scenario.transactions.max;
  const engine = new MemoryEngine(scenario.schema);
  const planFor = (workload: Workload): RunPlan => ({ scenario, strategy, isolation, workload });
  const guard = definitionGuard();
  const property = fc.property(workloadArbitrary(scenario, maxTransactions), scheduleArbitrary(maxTransactions, maxTransactions * 8), guard.wrap((workload, choices) => {
    return checkedRun(engine, planFor(workload), choices).violation === null;
  }));
  const started = performance.now();
  const details = fc.check(property, { seed: options.seed, numRuns: options.runs, endOnFailure: false });
  guard.rethrow();
  const executed = details.failed ? details.numRuns : options.runs;
  const stats: ExploreStats = { runs: executed, shrinks: details.numShrinks, ...timing(executed, started) };
  const base = { scenario: scenario.id, strategy: options.strategy, isolation, seed: options.seed, runs: options.runs, mode: 'random' as const };
  if (!details.failed) return { ...base, status: 'passed', stats };
  if (!details.counterexample) throw details.errorInstance;
  const [shrunkWorkload, shrunkChoices] = details.counterexample;
  const shrunk = checkedRun(engine, planFor(shrunkWorkload), shrunkChoices);
  if (shrunk.violation === null) throw details.errorInstance;
  const found = { workload: shrunkWorkload, choices: shrunkChoices };
  const minimal = minimizeWithSearch(engine, scenario, planFor, found, shrunk.trace.preemptions);
  const workload = minimal.workload;
  const { trace, violation } = minimal === found ? shrunk : checkedRun(engine, planFor(workload), minimal.choices);
  if (violation === null) throw details.errorInstance;
  const counterexample = buildCounterexample({ ...base, scenario, workload, trace, violation });
  return { ...base, status: 'failed', counterexample, stats };
}

/** A schedule drawn by the PCT and default searches: a choice list or a PCT schedule. */
type DrawnSchedule = { readonly kind: 'choices'; readonly choices: number[] } | { readonly kind: 'pct'; readonly pct: PctSchedule };

/**
 * PCT and the default search (PCT schedules mixed with fast-check's random
 * choice lists, three to one), and random search of one fixed workload: a
 * failing run is replayed to get its choice list, then shrunk by
 * `shrinkFailingCase` like any other.
 */
function exploreSampled(options: ExploreOptions, mode: SearchMode): ExploreReport {
  const { scenario, isolation } = options;
  const strategy = scenario.strategies[options.strategy];
  const maxTransactions = options.workload?.length ?? options.maxTransactions ?? scenario.transactions.max;
  const depth = options.depth ?? defaultPctDepth;
  const engine = new MemoryEngine(scenario.schema);
  const planFor = (workload: Workload): RunPlan => ({ scenario, strategy, isolation, workload });
  // PCT spreads its change points over the run's length: from a serial run of the fixed workload, else of the scenario's own two transactions, per transaction.
  const sample = options.workload ?? defaultWorkload(scenario, 2);
  const stepsPerTx = runOnEngine(engine, planFor(sample), choiceSchedule([])).steps.length / Math.max(sample.length, 1);
  const chooserFor = (workload: Workload, schedule: DrawnSchedule): Chooser => {
    if (schedule.kind === 'choices') return choiceSchedule(schedule.choices);
    return pctChooser(schedule.pct, depth, Math.max(1, Math.round(stepsPerTx * workload.length)));
  };
  const randomChoices = scheduleArbitrary(maxTransactions, maxTransactions * 8).map((choices): DrawnSchedule => ({ kind: 'choices', choices }));
  const pct = pctArbitrary(maxTransactions, depth).map((p): DrawnSchedule => ({ kind: 'pct', pct: p }));
  const schedules: fc.Arbitrary<DrawnSchedule> =
    mode === 'pct' ? pct : mode === 'random' ? randomChoices : fc.oneof({ arbitrary: pct, weight: 3 }, { arbitrary: randomChoices, weight: 1 });
  const workloads = options.workload ? fc.constant(options.workload) : workloadArbitrary(scenario, maxTransactions);
  const guard = definitionGuard();
  const property = fc.property(workloads, schedules, guard.wrap((workload, schedule) => {
    const trace = runOnEngine(engine, planFor(workload), chooserFor(workload, schedule));
    return checkRun(scenario, trace) === null;
  }));
  const started = performance.now();
  const details = fc.check(property, { seed: options.seed, numRuns: options.runs, endOnFailure: true });
  guard.rethrow();
  const base = { scenario: scenario.id, strategy: options.strategy, isolation, seed: options.seed, runs: options.runs, mode };
  const executed = details.failed ? details.numRuns : options.runs;
  const statsAfter = (shrinks: number): ExploreStats => ({ runs: executed, shrinks, ...timing(executed, started) });
  if (!details.failed) return { ...base, status: 'passed', stats: statsAfter(0) };
  if (!details.counterexample) throw details.errorInstance;
  const [workload, schedule] = details.counterexample;
  const chooser = chooserFor(workload, schedule);
  const { choices } = runWithDependencies(engine, planFor(workload), (runnable, last) => chooser.choose(runnable, last));
  return failedReport(engine, scenario, planFor, base, { workload, choices }, options.seed, statsAfter);
}

/** Shrinks a failing case found by a search other than random and builds the failed report. */
function failedReport(
  engine: MemoryEngine,
  scenario: Scenario,
  planFor: (workload: Workload) => RunPlan,
  base: Omit<ExploreReport, 'status' | 'stats' | 'counterexample'>,
  found: { workload: Workload; choices: readonly number[] },
  seed: number,
  statsAfter: (shrinks: number) => ExploreStats,
): ExploreReport {
  const fails = (workload: Workload, choices: readonly number[]) => checkedRun(engine, planFor(workload), choices).violation !== null;
  const shrunk = shrinkFailingCase(scenario, found, fails, seed);
  const preemptions = checkedRun(engine, planFor(shrunk.failing.workload), shrunk.failing.choices).trace.preemptions;
  const failing = minimizeWithSearch(engine, scenario, planFor, shrunk.failing, preemptions);
  const shrinks = shrunk.shrinks + (failing === shrunk.failing ? 0 : 1);
  const { trace, violation } = checkedRun(engine, planFor(failing.workload), failing.choices);
  if (violation === null) throw new Error('the shrunk counterexample no longer fails');
  const counterexample = buildCounterexample({ ...base, scenario, workload: failing.workload, trace, violation });
  return { ...base, status: 'failed', counterexample, stats: statsAfter(shrinks) };
}

/**
 * Exhaustive mode: every schedule of one workload up to equivalence
 * (`exhaustive.ts`). Passing is a proof for that workload (unless a
 * preemption bound cut schedules); a failure is the first in the search order,
 * then shrunk.
 */
function exploreAllSchedules(options: ExploreOptions): ExploreReport {
  const { scenario, isolation } = options;
  const strategy = scenario.strategies[options.strategy];
  const engine = new MemoryEngine(scenario.schema);
  const planFor = (workload: Workload): RunPlan => ({ scenario, strategy, isolation, workload });
  const workload = options.workload ?? defaultWorkload(scenario, options.transactions ?? Math.min(3, scenario.transactions.max));
  const started = performance.now();
  const result = exploreExhaustively(engine, planFor(workload), { preemptionBound: options.preemptionBound });
  const base = { scenario: scenario.id, strategy: options.strategy, isolation, seed: options.seed, runs: options.runs, mode: 'exhaustive' as const };
  const statsAfter = (shrinks: number): ExploreStats => {
    return {
      runs: result.schedules,
      shrinks,
      ...timing(result.schedules, started),
      schedules: result.schedules,
      traces: result.traces,
      naiveInterleavings: result.naiveInterleavings,
      complete: result.complete,
    };
  };
  if (!result.failure) return { ...base, status: 'passed', stats: statsAfter(0) };
  return failedReport(engine, scenario, planFor, base, { workload, choices: result.failure.choices }, options.seed, statsAfter);
}

/**
 * Remembers the first `DefinitionError` a property throws and passes every
 * later run without running it, so fast-check neither shrinks a scenario that
 * is not well defined nor explores it further; `rethrow` after `fc.check`.
 */
function definitionGuard() {
  let error: DefinitionError | undefined;
  return {
    wrap<A, B>(predicate: (a: A, b: B) => boolean): (a: A, b: B) => boolean {
      return (a, b) => {
        if (error) return true;
        try {
          return predicate(a, b);
        } catch (e) {
          if (e instanceof DefinitionError) error = e;
          throw e;
        }
      };
    },
    rethrow(): void {
      if (error) throw error;
    },
  };
}

/** Time since `started` and the rate of `runs` over it: statistics only, never an input to a decision. */
function timing(runs: number, started: number): Pick<ExploreStats, 'elapsedMs' | 'runsPerSecond'> {
  const elapsedMs = performance.now() - started;
  return { elapsedMs: Math.round(elapsedMs), runsPerSecond: Math.round((runs / Math.max(elapsedMs, 1)) * 1000) };
}
