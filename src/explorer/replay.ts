import type { Backend, Event, TxId } from '../adapters/backend.ts';
import { MemoryEngine } from '../adapters/memory/engine.ts';
import type { Fate } from '../model/scenario.ts';
import type { Row, Tables } from '../model/schema.ts';
import { describeStatement, type Statement, type StatementResult } from '../model/statement.ts';
import { checkRun, type Violation } from './checks.ts';
import { describeEvent, type Counterexample, workloadOf } from './counterexample.ts';
import { releasedStatement, runOnEngine, runWorkload, type RunSpec, type Step, type Trace } from './runner.ts';
import { stepOrder } from './schedule.ts';
import { sameTables } from './serializability.ts';
import { findScenario } from '../model/scenarios.ts';

/** How one transaction's statement stood after a step, on one side. */
export interface StepSide {
  /** In words: `id=1 balance=3000`, `1 row`, `blocked by T1`, `error 40P01: deadlock detected`. */
  readonly outcome: string;
  readonly blocked: boolean;
  readonly rows?: readonly Row[];
  readonly error?: { readonly code: string; readonly message: string };
  /** Previously blocked transactions that completed during this step. */
  readonly released: readonly { readonly tx: TxId; readonly outcome: string }[];
}

/** One step of a replay: the model's prediction beside what PostgreSQL did. */
export interface ReplayStep {
  readonly index: number;
  readonly tx: TxId;
  /** The statement as the database ran it. */
  readonly sql: string;
  /** The statement in lockstep's short form, as counterexamples show it. */
  readonly statementText: string;
  readonly model: StepSide;
  readonly postgres: StepSide;
  readonly match: boolean;
}

/** The result of replaying a schedule on a real database and comparing it with the model. */
export interface ReplayReport {
  readonly status: 'confirmed' | 'diverged';
  /** PostgreSQL's run broke the same rule the model's run broke. */
  readonly violationReproduced: boolean;
  readonly database: { readonly version: string };
  readonly steps: readonly ReplayStep[];
  readonly transactions: readonly { readonly id: TxId; readonly model: Fate; readonly postgres: Fate | null; readonly match: boolean }[];
  readonly finalState: { readonly match: boolean; readonly model: Tables; readonly postgres: Tables | null };
  /** Index (1-based) of the first step that differs, if any. */
  readonly firstDivergence?: number;
  readonly modelViolation: Violation | null;
  readonly postgresViolation: Violation | null;
  readonly elapsedMs: number;
}

/** Renders a statement as the SQL the backend runs; the postgres adapter's compiler, or a description. */
export type SqlRenderer = (statement: Statement) => string;

/**
 * Replays a schedule step by step on `backend` and compares every step with
 * the memory engine's run of the same schedule: blocked or not, rows
 * returned, error code, and at the end each transaction's fate and every
 * table. Stops at the first divergent step (what follows it would no longer
 * be the same schedule).
 */
export async function replay(backend: Backend, spec: RunSpec, schedule: readonly TxId[], sql: SqlRenderer): Promise<ReplayReport> {
  const started = performance.now();
  const model = runOnEngine(new MemoryEngine(spec.scenario.schema), spec, stepOrder(schedule));
  const modelViolation = checkRun(spec.scenario, model);
  await backend.reset(spec.scenario.seed as Tables, spec.isolation);
  const run = runWorkload(spec, stepOrder(schedule));
  const steps: ReplayStep[] = [];
  const pgSteps: Step[] = [];
  let diverged: number | undefined;
  let r = run.next();
  while (!r.done) {
    const call = r.value;
    if (call.kind === 'abandon') {
      r = run.next(await backend.abandon(call.tx));
      continue;
    }
    const expected = model.steps[steps.length];
    const events = await backend.step(call.tx, call.statement, expected?.events);
    const index = steps.length + 1;
    const pgStep: Step = { tx: call.tx, statement: call.statement, events };
    pgSteps.push(pgStep);
    const match = expected !== undefined && expected.tx === call.tx && sameEvents(expected.events, events);
    steps.push({
      index,
      tx: call.tx,
      sql: sql(call.statement),
      statementText: describeStatement(call.statement),
      model: expected ? side(expected, model.steps) : { outcome: '(no such step)', blocked: false, released: [] },
      postgres: side(pgStep, pgSteps),
      match,
    });
    if (!match) {
      diverged = index;
      break;
    }
    r = run.next(events);
  }
  const finished = r.done ? r.value : null;
  const postgresFinal = finished ? await backend.tables() : null;
  const postgresTrace: Trace | null = finished && postgresFinal ? { ...finished, final: postgresFinal } : null;
  const postgresViolation = postgresTrace ? checkRun(spec.scenario, postgresTrace) : null;
  const transactions = model.outcomes.map((o) => {
    const pg = finished?.outcomes.find((p) => p.id === o.id);
    return { id: o.id, model: o.fate, postgres: pg?.fate ?? null, match: pg?.fate === o.fate };
  });
  const finalMatch = postgresFinal !== null && sameTables(spec.scenario, model.final, postgresFinal);
  const confirmed = diverged === undefined && finalMatch && transactions.every((t) => t.match);
  return {
    status: confirmed ? 'confirmed' : 'diverged',
    violationReproduced: modelViolation !== null && postgresViolation !== null && sameRule(modelViolation, postgresViolation),
    database: { version: backend.name },
    steps,
    transactions,
    finalState: { match: finalMatch, model: model.final, postgres: postgresFinal },
    ...(diverged !== undefined ? { firstDivergence: diverged } : {}),
    modelViolation,
    postgresViolation,
    elapsedMs: Math.round(performance.now() - started),
  };
}

/** The run a counterexample describes. */
export function specOf(cx: Counterexample): RunSpec {
  const scenario = findScenario(cx.scenario)!;
  return { scenario, strategy: scenario.strategies[cx.strategy], isolation: cx.isolation, workload: workloadOf(cx) };
}

function sameRule(a: Violation, b: Violation): boolean {
  return a.kind === b.kind && (a.kind !== 'invariant' || (b.kind === 'invariant' && a.invariant === b.invariant));
}

/** Same transactions in the same state: blocked on both sides, or completed with the same error code or the same rows. */
export function sameEvents(model: readonly Event[], postgres: readonly Event[]): boolean {
  if (model.length !== postgres.length) return false;
  return model.every((m, i) => {
    const p = postgres[i];
    if (m.tx !== p.tx || m.kind !== p.kind) return false;
    if (m.kind === 'blocked' || p.kind === 'blocked') return true;
    return sameResult(m.result, p.result);
  });
}

function sameResult(a: StatementResult, b: StatementResult): boolean {
  if (a.error || b.error) return a.error?.code === b.error?.code;
  return JSON.stringify(a.rows.map(sortedRow)) === JSON.stringify(b.rows!.map(sortedRow));
}

function sortedRow(row: Row): [string, unknown][] {
  return Object.keys(row)
    .sort()
    .map((k) => [k, row[k]]);
}

function side(step: Step, history: readonly Step[]): StepSide {
  const own = step.events.find((e) => e.tx === step.tx);
  const released = step.events
    .filter((e) => e.tx !== step.tx)
    .map((e) => ({ tx: e.tx, outcome: describeEvent(releasedStatement(history, step, e.tx), e) }));
  if (!own) return { outcome: '(no event)', blocked: false, released };
  const outcome = describeEvent(step.statement, own);
  if (own.kind === 'blocked') return { outcome, blocked: true, released };
  return own.result.error
    ? { outcome, blocked: false, error: own.result.error, released }
    : { outcome, blocked: false, rows: own.result.rows, released };
}
