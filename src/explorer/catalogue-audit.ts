import * as fc from 'fast-check';
import type { Backend, IsolationLevel, TxId } from '../adapters/backend.ts';
import { MemoryEngine } from '../adapters/memory/engine.ts';
import type { CatalogueEntry } from '../model/catalogue.ts';
import { classifyRun, type Anomaly } from './anomaly.ts';
import { scheduleArbitrary } from './arbitraries.ts';
import { replay, type ReplayReport, type SqlRenderer } from './replay.ts';
import { runOnEngine, type RunSpec, type Trace } from './runner.ts';
import { choiceSchedule, intendedOrder } from './schedule.ts';

/** Whether a level lets the anomaly happen. */
export type Allowance = 'possible' | 'prevented';

/** A schedule that shows the anomaly in the model. */
export interface Witness {
  readonly schedule: readonly TxId[];
  readonly preemptions: number;
  /** The anomaly class of the run's dependency graph. */
  readonly anomaly: Anomaly | null;
}

/** One row of the catalogue table: an anomaly under one isolation level, in the model and on PostgreSQL. */
export interface CatalogueRow {
  readonly anomaly: string;
  readonly isolation: IsolationLevel;
  readonly model: Allowance;
  readonly postgres: Allowance;
  /** The model's smallest schedule showing the anomaly (fewest preemptions), when it is possible. */
  readonly witness?: Witness;
  /** Every replayed schedule ran on PostgreSQL exactly as the model predicted. */
  readonly conformance: 'confirmed' | 'diverged';
  /** The schedules replayed: the witness, and the classic interleaving. */
  readonly replays: readonly { readonly schedule: readonly TxId[]; readonly status: ReplayReport['status']; readonly anomaly: boolean }[];
}

/** Runs the model's side: every schedule the search reaches, the classic interleaving among them. */
export function modelAllowance(entry: CatalogueEntry, isolation: IsolationLevel, seed = 1): { model: Allowance; witness?: Witness; intended: Trace } {
  const { scenario } = entry;
  const spec: RunSpec = { scenario, strategy: scenario.strategies['as-written'], isolation, workload: scenario.canonical };
  const engine = new MemoryEngine(scenario.schema);
  const shows = (trace: Trace) => observed(entry, trace);
  const intended = runOnEngine(engine, spec, intendedOrder(entry.intended));
  const n = scenario.canonical.length;
  const steps = intended.steps.length;
  // Choices beyond the number of steps are never read; 2,000 runs cover every interleaving of these small workloads many times over.
  const details = fc.check(
    fc.property(scheduleArbitrary(n, steps), (choices) => !shows(runOnEngine(engine, spec, choiceSchedule(choices)))),
    { seed, numRuns: 2000, examples: [], endOnFailure: false },
  );
  let found: Trace | undefined;
  if (details.failed && details.counterexample) found = runOnEngine(engine, spec, choiceSchedule(details.counterexample[0]));
  else if (shows(intended)) found = intended;
  if (!found) return { model: 'prevented', intended };
  const schedule = found.steps.map((s) => s.tx);
  return { model: 'possible', witness: { schedule, preemptions: found.preemptions, anomaly: classifyRun(spec, schedule) }, intended };
}

/** True when the entry's anomaly shows in a run: its invariant broke. */
function observed(entry: CatalogueEntry, trace: Trace): boolean {
  const { scenario } = entry;
  return scenario.invariants[0].check({ initial: scenario.seed, final: trace.final as any, outcomes: trace.outcomes }) !== null;
}

/**
 * Audits one catalogue entry under one isolation level: the model's
 * verdict from its search, and PostgreSQL's from replaying the witness (when
 * the model has one) and the classic interleaving, step by step.
 */
export async function auditCatalogueEntry(entry: CatalogueEntry, isolation: IsolationLevel, backend: Backend, sql: SqlRenderer): Promise<CatalogueRow> {
  const { scenario } = entry;
  const spec: RunSpec = { scenario, strategy: scenario.strategies['as-written'], isolation, workload: scenario.canonical };
  const { model, witness, intended } = modelAllowance(entry, isolation);
  const schedules = [witness?.schedule, intended.steps.map((s) => s.tx)].filter((s): s is TxId[] => s !== undefined);
  const unique = schedules.filter((s, i) => schedules.findIndex((t) => t.join() === s.join()) === i);
  const replays: { schedule: readonly TxId[]; status: ReplayReport['status']; anomaly: boolean }[] = [];
  for (const schedule of unique) {
    const report = await replay(backend, spec, schedule, sql);
    replays.push({ schedule, status: report.status, anomaly: report.postgresViolation?.kind === 'invariant' });
  }
  return {
    anomaly: entry.anomaly,
    isolation,
    model,
    postgres: replays.some((r) => r.anomaly) ? 'possible' : 'prevented',
    ...(witness ? { witness } : {}),
    conformance: replays.every((r) => r.status === 'confirmed') ? 'confirmed' : 'diverged',
    replays,
  };
}
