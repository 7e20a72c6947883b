import * as fc from 'fast-check';
import type { Backend, IsolationLevel } from '../adapters/backend.ts';
import type { Scenario } from '../model/scenario.ts';
import { SqlState } from '../model/statement.ts';
import type { AnomalyClass } from './anomaly.ts';
import { scheduleArbitrary, workloadArbitrary } from './arbitraries.ts';
import { modelEngine } from './model-engine.ts';
import { ruleName } from './violation.ts';
import type { Counterexample } from './counterexample.ts';
import { exploreAsync, type ExploreOptions } from './explore.ts';
import { replay } from './replay.ts';
import { runOnEngine, type RunPlan, type Trace } from './runner.ts';
import { choiceSchedule } from './schedule.ts';

/** One row of the audit matrix: a scenario's strategy under one isolation level. */
export interface AuditRow {
  readonly scenario: string;
  readonly strategy: string;
  readonly isolation: IsolationLevel;
  readonly status: 'passed' | 'failed';
  /** What the scenario declares (the property suites assert it); the row is a finding when the status differs. */
  readonly expected: 'passes' | 'fails' | undefined;
  readonly anomaly?: AnomalyClass | 'none';
  readonly invariant?: string;
  readonly transactions?: number;
  readonly preemptions?: number;
  /** Steps that blocked on a lock, per run, averaged over the sampled runs. */
  readonly blocksPerRun: number;
  /** Attempts that ended in a database error (40001, 40P01, 23505, ...), per run, averaged over the sampled runs. */
  readonly abortsPerRun: number;
  /** With replay: whether PostgreSQL ran the minimal counterexample and the sampled schedules exactly as the model. */
  readonly postgres?: 'confirmed' | 'diverged';
  readonly counterexample?: Counterexample;
  /** The search stopped at `maxTimeMs` before running `runs` runs: a pass covers fewer runs. */
  readonly stoppedByTime?: true;
}

export interface AuditOptions {
  readonly runs: number;
  readonly seed: number;
  /** Runs sampled for the cost columns (and replayed, the first `replaySamples` of them, with a backend). */
  readonly costSamples?: number;
  readonly replaySamples?: number;
  /** Stop this combination's search after this many milliseconds (`explore`'s `maxTimeMs`). */
  readonly maxTimeMs?: number;
  /** Looked at between parts of the search (`exploreAsync`): once aborted, an `InterruptedError`. */
  readonly signal?: AbortSignal;
  /** The search's progress (`explore`'s `onProgress`). */
  readonly onProgress?: ExploreOptions['onProgress'];
}

/**
 * Audits one strategy of a scenario under one isolation level: explores it
 * (the verdict, and the minimal counterexample with its broken rule and
 * anomaly), measures its cost over sampled runs, and with a backend replays
 * the counterexample and some of the sampled schedules on it.
 */
export async function auditStrategy(
  scenario: Scenario,
  strategy: string,
  isolation: IsolationLevel,
  options: AuditOptions,
  postgres?: Backend,
): Promise<AuditRow> {
  const report = await exploreAsync({ scenario, strategy, isolation, runs: options.runs, seed: options.seed, maxTimeMs: options.maxTimeMs, signal: options.signal, onProgress: options.onProgress });
  const spec = (workload: RunPlan['workload']): RunPlan => ({ scenario, strategy: scenario.strategies[strategy], isolation, workload });
  const engine = modelEngine(scenario.schema);
  const max = scenario.transactions.max;
  const samples = fc.sample(fc.tuple(workloadArbitrary(scenario), scheduleArbitrary(max, max * 8)), { numRuns: options.costSamples ?? 200, seed: options.seed });
  let blocks = 0;
  let aborts = 0;
  const traces: { spec: RunPlan; trace: Trace }[] = [];
  for (const [workload, choices] of samples) {
    const trace = runOnEngine(engine, spec(workload), choiceSchedule(choices));
    blocks += countBlocks(trace);
    aborts += countAborts(trace);
    traces.push({ spec: spec(workload), trace });
  }
  const cx = report.counterexample;
  let verdict: AuditRow['postgres'];
  if (postgres) {
    const toReplay = [...(cx ? [{ spec: spec(cx.transactions.map((t) => ({ operation: t.operation, args: t.args }))), schedule: cx.schedule }] : [])];
    for (const { spec: s, trace } of traces.slice(0, options.replaySamples ?? 10)) toReplay.push({ spec: s, schedule: trace.steps.map((step) => step.tx) });
    verdict = 'confirmed';
    for (const { spec: s, schedule } of toReplay) {
      const replayed = await replay(postgres, s, schedule);
      if (replayed.status !== 'confirmed') verdict = 'diverged';
    }
  }
  const round = (n: number) => Math.round((n / samples.length) * 100) / 100;
  return {
    scenario: scenario.id,
    strategy,
    isolation,
    status: report.status,
    expected: scenario.strategies[strategy].expected[isolation],
    ...(cx
      ? {
          anomaly: cx.anomaly?.class ?? 'none',
          invariant: ruleName(cx.violation),
          transactions: cx.transactions.length,
          preemptions: cx.preemptions,
        }
      : {}),
    blocksPerRun: round(blocks),
    abortsPerRun: round(aborts),
    ...(verdict ? { postgres: verdict } : {}),
    ...(cx ? { counterexample: cx } : {}),
    ...(report.stats.stoppedByTime ? { stoppedByTime: true as const } : {}),
  };
}

function countBlocks(trace: Trace): number {
  let n = 0;
  for (const step of trace.steps) for (const e of step.events) if (e.kind === 'blocked') n++;
  return n;
}

function countAborts(trace: Trace): number {
  let n = 0;
  for (const step of trace.steps) {
    for (const e of step.events) if (e.kind === 'completed' && e.result.error && e.result.error.code !== SqlState.inFailedTransaction) n++;
  }
  return n;
}
