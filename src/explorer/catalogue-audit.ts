import * as fc from 'fast-check';
import { isolationLevels, type Backend, type IsolationLevel, type TxId } from '../adapters/backend.ts';
import type { Scenario } from '../model/scenario.ts';
import { classifyRun, type Anomaly } from './anomaly.ts';
import { scheduleArbitrary } from './arbitraries.ts';
import { modelEngine } from './model-engine.ts';
import { replay, type ReplayReport } from './replay.ts';
import { runOnEngine, type RunPlan, type Trace } from './runner.ts';
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

/** One anomaly of the catalogue: the classic interleaving that shows it, on a scenario of its own. */
export interface CatalogueEntry {
  /** The anomaly's name: `G0`, `G1a`, ..., `P4`, `G-single`, `G2-item`, `G2`. */
  readonly anomaly: string;
  readonly title: string;
  readonly scenario: Scenario;
  /** Transaction of each step of the classic interleaving, in order. */
  readonly intended: readonly TxId[];
}

/** One row of the catalogue table: an anomaly under one isolation level, in the model and on PostgreSQL. */
export interface CatalogueRow {
  readonly anomaly: string;
  readonly isolation: IsolationLevel;
  readonly model: Allowance;
  readonly postgres: Allowance;
  /** The model's smallest schedule showing the anomaly (fewest preemptions), when it is possible. */
  readonly witness?: Witness;
  /** When it is prevented: how the classic interleaving was stopped in the model (`T2 failed with 40001`, `T2 waited for T1`). */
  readonly prevention?: string;
  /** Every replayed schedule ran on PostgreSQL exactly as the model predicted. */
  readonly conformance: 'confirmed' | 'diverged';
  /** The schedules replayed: the witness, the classic interleaving, and the other levels' witnesses. */
  readonly replays: readonly { readonly schedule: readonly TxId[]; readonly status: ReplayReport['status']; readonly anomaly: boolean }[];
}

/** Runs the model's side: every schedule the search reaches, the classic interleaving among them. */
export function modelAllowance(entry: CatalogueEntry, isolation: IsolationLevel, seed = 1): { model: Allowance; witness?: Witness; intended: Trace } {
  const { scenario } = entry;
  const spec: RunPlan = { scenario, strategy: scenario.strategies['as-written'], isolation, workload: scenario.canonical };
  const engine = modelEngine(scenario.schema);
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
 * Audits one catalogue entry under the given isolation levels: the model's
 * verdict from its search, and PostgreSQL's from replaying, step by step,
 * the witness (when the model has one), the classic interleaving, and the
 * witnesses the model found under the other levels, the schedules the level
 * should prevent.
 */
export async function auditCatalogueEntry(entry: CatalogueEntry, levels: readonly IsolationLevel[], backend: Backend): Promise<CatalogueRow[]> {
  const { scenario } = entry;
  const found = new Map(isolationLevels.map((level) => [level, modelAllowance(entry, level)]));
  const witnesses = [...found.values()].flatMap((f) => (f.witness ? [f.witness.schedule] : []));
  const rows: CatalogueRow[] = [];
  for (const isolation of levels) {
    const spec: RunPlan = { scenario, strategy: scenario.strategies['as-written'], isolation, workload: scenario.canonical };
    const { model, witness, intended } = found.get(isolation)!;
    const engine = modelEngine(scenario.schema);
    const orders = [witness?.schedule, intended.steps.map((s) => s.tx), ...witnesses.map((w) => runOnEngine(engine, spec, intendedOrder(w)).steps.map((s) => s.tx))];
    const schedules = orders.filter((s, i): s is TxId[] => s !== undefined && orders.findIndex((t) => t?.join() === s.join()) === i);
    const replays: { schedule: readonly TxId[]; status: ReplayReport['status']; anomaly: boolean }[] = [];
    for (const schedule of schedules) {
      const report = await replay(backend, spec, schedule);
      replays.push({ schedule, status: report.status, anomaly: report.postgresViolation?.kind === 'invariant' });
    }
    rows.push({
      anomaly: entry.anomaly,
      isolation,
      model,
      postgres: replays.some((r) => r.anomaly) ? 'possible' : 'prevented',
      ...(witness ? { witness } : { prevention: prevention(intended) }),
      conformance: replays.every((r) => r.status === 'confirmed') ? 'confirmed' : 'diverged',
      replays,
    });
  }
  return rows;
}

/** How the classic interleaving was kept from showing the anomaly: an error, a wait, or reads that saw committed data only. */
function prevention(trace: Trace): string {
  for (const step of trace.steps) {
    for (const e of step.events) {
      if (e.kind === 'completed' && e.result.error) return `T${e.tx} failed with ${e.result.error.code}`;
    }
  }
  const wait = trace.steps.flatMap((s) => s.events).find((e) => e.kind === 'blocked');
  if (wait && wait.kind === 'blocked') return `T${wait.tx} waited for ${wait.waitsFor.map((t) => `T${t}`).join(', ')}`;
  return 'reads saw committed data only';
}
