import * as fc from 'fast-check';
import type { IsolationLevel } from '../adapters/backend.ts';
import { MemoryEngine } from '../adapters/memory/engine.ts';
import type { Scenario, Workload } from '../model/scenario.ts';
import { scheduleArbitrary, workloadArbitrary } from './arbitraries.ts';
import { checkRun, type Violation } from './checks.ts';
import { buildCounterexample, type Counterexample } from './counterexample.ts';
import { runOnEngine, type RunSpec, type Trace } from './runner.ts';
import { choiceSchedule } from './schedule.ts';

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
}

/** Timing of an exploration; the only part of a report that varies between identical runs. */
export interface ExploreStats {
  readonly runs: number;
  readonly shrinks: number;
  readonly elapsedMs: number;
  readonly runsPerSecond: number;
}

/** The result of an exploration. */
export interface ExploreReport {
  readonly scenario: string;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  readonly seed: number;
  readonly runs: number;
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
export function checkedRun(engine: MemoryEngine, spec: RunSpec, choices: readonly number[]): CheckedRun {
  const trace = runOnEngine(engine, spec, choiceSchedule(choices));
  return { trace, violation: checkRun(spec.scenario, trace) };
}

/**
 * Explores random workloads and schedules of a scenario under one strategy
 * with fast-check, and shrinks a failing one with fast-check's shrinker: the
 * workload first (fewer transactions, then smaller arguments), then the
 * choices (fewer, and toward 0, which removes preemptions). Every unsafe
 * strategy of the points scenarios shrinks to 2 transactions and 1 preemption
 * (asserted by the property suites).
 *
 * ```ts
 * const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 });
 * report.counterexample?.preemptions; // 1
 * ```
 */
export function explore(options: ExploreOptions): ExploreReport {
  const { scenario, isolation } = options;
  const strategy = scenario.strategies[options.strategy];
  const maxTransactions = options.maxTransactions ?? scenario.transactions.max;
  const engine = new MemoryEngine(scenario.schema);
  const specFor = (workload: Workload): RunSpec => ({ scenario, strategy, isolation, workload });
  const property = fc.property(workloadArbitrary(scenario, maxTransactions), scheduleArbitrary(maxTransactions, maxTransactions * 8), (workload, choices) => {
    return checkedRun(engine, specFor(workload), choices).violation === null;
  });
  const started = performance.now();
  const details = fc.check(property, { seed: options.seed, numRuns: options.runs, endOnFailure: false });
  const elapsedMs = performance.now() - started;
  const executed = details.failed ? details.numRuns : options.runs;
  const stats: ExploreStats = {
    runs: executed,
    shrinks: details.numShrinks,
    elapsedMs: Math.round(elapsedMs),
    runsPerSecond: Math.round((executed / Math.max(elapsedMs, 1)) * 1000),
  };
  const base = { scenario: scenario.id, strategy: options.strategy, isolation, seed: options.seed, runs: options.runs };
  if (!details.failed) return { ...base, status: 'passed', stats };
  if (!details.counterexample) throw details.errorInstance;
  const [workload, choices] = details.counterexample;
  const { trace, violation } = checkedRun(engine, specFor(workload), choices);
  if (violation === null) throw details.errorInstance;
  const counterexample = buildCounterexample({ ...base, workload, trace, violation });
  return { ...base, status: 'failed', counterexample, stats };
}
