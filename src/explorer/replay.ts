import type { Backend, Event, TxId } from '../adapters/backend.ts';
import type { Race, RacingEngine } from '../adapters/engine.ts';
import { seedTables, type Fate, type Scenario } from '../model/scenario.ts';
import type { Row, Tables } from '../model/schema.ts';
import { describeStatement, SqlState, type StatementResult } from '../model/statement.ts';
import { modelEngine, racingModel } from './model-engine.ts';
import { checkRun, type Violation } from './violation.ts';
import { describeEvent, describeReleased, type Counterexample, workloadOf } from './counterexample.ts';
import { runOnEngine, runWorkload, type RunPlan, type Step, type Trace } from './runner.ts';
import { stepOrder, type Chooser } from './schedule.ts';
import { sameTables } from './serializability.ts';

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
  /** Races among waiters that PostgreSQL resolved otherwise than first come, first served, and the model followed. */
  readonly racesFollowed: readonly RaceFollowed[];
  /**
   * Set when PostgreSQL's outcome of a race left the stored schedule unable
   * to go on in every attempt but the last, and the last attempt, following
   * PostgreSQL's choice, ran the rest of the schedule in its intended order
   * from this step (1-based) on: each step went to the first transaction of
   * the rest of the schedule that could run.
   */
  readonly reorderedFrom?: number;
  /**
   * Set when even the last attempt met a race whose outcome left the
   * schedule unable to go on. The last attempt reorders the rest of the
   * schedule instead (`reorderedFrom`), so a replay of this version never
   * sets it.
   */
  readonly raced?: RaceFollowed;
  /** Attempts made: an attempt is repeated when PostgreSQL's outcome of a race leaves the schedule unable to go on, up to `maxAttempts`; the last one reorders. */
  readonly attempts: number;
  readonly modelViolation: Violation | null;
  readonly postgresViolation: Violation | null;
  readonly elapsedMs: number;
}

/** A race among waiting transactions that PostgreSQL resolved otherwise than first come, first served. */
export interface RaceFollowed {
  /** The step during which the lock was granted. */
  readonly step: number;
  /** The racing waiters, in arrival order. */
  readonly candidates: readonly TxId[];
  /** The waiter PostgreSQL let through first. */
  readonly chosen: TxId;
}

/**
 * Replays a schedule step by step on `backend` and compares every step with
 * the memory engine's run of the same schedule: blocked or not, rows
 * returned, error code, and at the end each transaction's fate and every
 * table. Stops at the first divergent step (what follows it would no longer
 * be the same schedule).
 *
 * Where PostgreSQL's outcome depends on timing and the model allows several
 * (which of several waiters racing for a row lock goes first, which of the
 * transactions woken together goes on first, the deadlock victim), a step
 * that differs only by those choices is not a divergence: the model is run
 * again taking PostgreSQL's choices, and the replay goes on. When with that
 * choice the next stored step belongs to a transaction still waiting, the
 * attempt is repeated (PostgreSQL may choose otherwise), up to
 * `maxAttempts`; the last attempt follows PostgreSQL's choice and runs the
 * rest of the schedule in its intended order (`reorderedFrom`), so every
 * outcome the model allows is followed to the end.
 *
 * The model's run is known before the replay starts, so the backend is told
 * which statement the model makes the victim of a later deadlock that
 * PostgreSQL leaves to timing (`StepForecast`). An attempt that used such a
 * forecast and diverged runs again without forecasts: a forecast steers,
 * and must never be what makes a replay diverge.
 */
export async function replay(backend: Backend, spec: RunPlan, schedule: readonly TxId[], maxAttempts = 4): Promise<ReplayReport> {
  const started = performance.now();
  // The model's run of the stored schedule, first: a schedule that does not fit the workload is the input's fault (an InputError).
  runOnEngine(modelEngine(spec.scenario.schema), spec, stepOrder(schedule));
  let forecasts = true;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= maxAttempts;
    const { forecast, ...report } = await replayOnce(backend, spec, schedule, last, forecasts);
    // A forecast steers PostgreSQL by timing (see `laterDeadlockVictims`); an attempt that used one and diverged runs again without.
    if (forecast && report.status !== 'confirmed') {
      forecasts = false;
      continue;
    }
    if (!report.raced || last) return { ...report, attempts: attempt, elapsedMs: Math.round(performance.now() - started) };
  }
}

/**
 * The stored step order of a replay. A step whose transaction cannot run
 * (PostgreSQL resolved a race otherwise, and the transaction the schedule
 * names next is still waiting) ends the run early, or with `reorder` goes to
 * the first transaction of the rest of the schedule that can run (the
 * schedule as intended, see `intendedOrder`); `reorderedFrom` is the first
 * step that did not go as stored.
 */
class ReplayOrder implements Chooser {
  private readonly remaining: TxId[];
  private steps = 0;
  reorderedFrom: number | undefined;

  constructor(
    order: readonly TxId[],
    readonly reorder: boolean,
  ) {
    this.remaining = [...order];
  }

  choose(runnable: readonly TxId[]): TxId | undefined {
    this.steps++;
    const i = this.remaining.findIndex((tx) => runnable.includes(tx));
    if (i !== 0) {
      this.reorderedFrom ??= this.steps;
      if (!this.reorder) return undefined;
      if (i < 0) return runnable[0];
    }
    return this.remaining.splice(i, 1)[0];
  }
}

/**
 * One attempt. `raced` is set when PostgreSQL resolved a race in a way the
 * model allows but that leaves the rest of the stored schedule unable to run
 * (the next scheduled transaction is still waiting): the attempt says
 * nothing about conformance and `replay` tries again. With `reorder` the
 * rest of the schedule runs in its intended order instead.
 */
async function replayOnce(
  backend: Backend,
  spec: RunPlan,
  schedule: readonly TxId[],
  reorder: boolean,
  forecasts: boolean,
): Promise<Omit<ReplayReport, 'attempts' | 'elapsedMs'> & { raced?: RaceFollowed; forecast: boolean }> {
  const resolutions = new Map<number, TxId>();
  const engine = racingModel(spec.scenario.schema, (ordinal) => resolutions.get(ordinal));
  const order = () => new ReplayOrder(schedule, reorder);
  let model = runOnEngine(engine, spec, order());
  const victimsOf = (trace: Trace) => (forecasts ? laterDeadlockVictims(engine.races, trace) : new Set<number>());
  let laterVictims = victimsOf(model);
  let forecast = false;
  await backend.reset(seedTables(spec.scenario), spec.isolation);
  const pgOrder = order();
  const run = runWorkload(spec, pgOrder);
  const pgSteps: Step[] = [];
  const followed: RaceFollowed[] = [];
  let diverged: number | undefined;
  let raced: RaceFollowed | undefined;
  let r = run.next();
  while (!r.done) {
    const call = r.value;
    if (call.kind === 'abandon') {
      r = run.next(await backend.abandon(call.tx));
      continue;
    }
    const k = pgSteps.length;
    const victim = laterVictims.has(k);
    forecast ||= victim;
    const events = await backend.step(call.tx, call.statement, model.steps[k]?.events, victim ? { laterDeadlockVictim: true } : undefined);
    pgSteps.push({ tx: call.tx, statement: call.statement, events });
    if (!stepMatches(model.steps[k], pgSteps[k])) {
      const resynced = followRaces(engine, spec, order, resolutions, pgSteps);
      if (resynced === null || !resynced.complete) {
        diverged = k + 1;
        if (resynced) raced = { step: k + 1, ...resynced.races[0] };
        break;
      }
      model = resynced.trace;
      laterVictims = victimsOf(model);
      for (const race of resynced.races) followed.push({ step: k + 1, ...race });
    }
    r = run.next(events);
  }
  const steps = pgSteps.map((pg, i): ReplayStep => {
    const expected = model.steps[i];
    return {
      index: i + 1,
      tx: pg.tx,
      sql: backend.describe(pg.statement),
      statementText: describeStatement(pg.statement),
      model: expected ? side(expected, model.steps) : { outcome: '(no such step)', blocked: false, released: [] },
      postgres: side(pg, pgSteps),
      match: stepMatches(expected, pg),
    };
  });
  const modelViolation = checkRun(spec.scenario, model);
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
    racesFollowed: followed,
    ...(diverged === undefined && pgOrder.reorderedFrom !== undefined ? { reorderedFrom: pgOrder.reorderedFrom } : {}),
    ...(raced ? { raced } : {}),
    forecast,
    modelViolation,
    postgresViolation,
  };
}

/**
 * The steps (from 0) whose statement the model makes the victim of a
 * deadlock race in a later step (see `StepForecast`): for each such race, the
 * victim's last step before it, the statement it was waiting in. `races` are
 * those of the run that gave `trace`.
 *
 * The shorter deadlock timeout holds for every wait of that statement, so a
 * forecast is left out where, while the statement runs, the model ends
 * another cycle by its longest waiter (a released transaction other than the
 * victim fails with 40P01): PostgreSQL could abort the forecast statement
 * there instead. A forecast can still go wrong where a race PostgreSQL
 * decided otherwise changes the rest of the run; `replay` then runs the
 * schedule again without forecasts.
 */
function laterDeadlockVictims(races: readonly Race[], trace: Trace): Set<number> {
  const steps = new Set<number>();
  for (const race of races) {
    if (!race.deadlock) continue;
    const at = Math.min(race.deadlock.step, trace.steps.length) - 1;
    let sent = at;
    while (sent >= 0 && trace.steps[sent].tx !== race.chosen) sent--;
    if (sent < 0) continue;
    let clear = true;
    for (let i = sent + 1; i <= at && clear; i++) {
      const step = trace.steps[i];
      clear = !step.events.some((e) => e.tx !== step.tx && e.tx !== race.chosen && e.kind === 'completed' && e.result.error?.code === SqlState.deadlockDetected);
    }
    if (clear) steps.add(sent);
  }
  return steps;
}

function stepMatches(model: Step | undefined, postgres: Step): boolean {
  return model !== undefined && model.tx === postgres.tx && sameEvents(model.events, postgres.events);
}

/** Index of the first PostgreSQL step the model's trace does not match, or the number of steps when it matches them all. */
function matchedSteps(trace: Trace, pgSteps: readonly Step[]): number {
  let i = 0;
  while (i < pgSteps.length && stepMatches(trace.steps[i], pgSteps[i])) i++;
  return i;
}

/** Most races the model changes at once to match one PostgreSQL step (two waiters released by one commit may each go otherwise). */
const maxRacesAtOnce = 3;

/**
 * After a step differs, looks for races the model decided first come, first
 * served whose other outcomes PostgreSQL took: runs the model again with
 * another choice for one race, and keeps it if the model then agrees with
 * every PostgreSQL step so far; if it agrees up to the differing step but
 * not on it, tries another choice for a later race of that run as well, up
 * to `maxRacesAtOnce` races. `complete` is false when, with those choices,
 * the rest of the stored schedule cannot run (see `ReplayOrder`).
 */
function followRaces(
  engine: RacingEngine,
  spec: RunPlan,
  order: () => ReplayOrder,
  resolutions: Map<number, TxId>,
  pgSteps: readonly Step[],
): { trace: Trace; complete: boolean; races: { candidates: readonly TxId[]; chosen: TxId }[] } | null {
  const search = (after: number, depth: number): { trace: Trace; complete: boolean; races: { candidates: readonly TxId[]; chosen: TxId }[] } | null => {
    const races = engine.races.filter((race) => race.ordinal > after && !resolutions.has(race.ordinal));
    for (const race of races) {
      for (const candidate of race.candidates) {
        if (candidate === race.chosen) continue;
        resolutions.set(race.ordinal, candidate);
        const chooser = order();
        const trace = runOnEngine(engine, spec, chooser);
        const matched = matchedSteps(trace, pgSteps);
        const followed = { candidates: race.candidates, chosen: candidate };
        if (matched === pgSteps.length) return { trace, complete: chooser.reorderedFrom === undefined || chooser.reorder, races: [followed] };
        if (depth > 1 && matched === pgSteps.length - 1) {
          const deeper = search(race.ordinal, depth - 1);
          if (deeper) return { ...deeper, races: [followed, ...deeper.races] };
        }
        resolutions.delete(race.ordinal);
      }
    }
    return null;
  };
  const found = search(-1, maxRacesAtOnce);
  if (found === null) runOnEngine(engine, spec, order());
  return found;
}

/** The run a counterexample of `scenario` describes. */
export function runPlanOf(cx: Counterexample, scenario: Scenario): RunPlan {
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
    return sameStatementResult(m.result, p.result);
  });
}

function sameStatementResult(a: StatementResult, b: StatementResult): boolean {
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
  const released = describeReleased(history, step);
  if (!own) return { outcome: '(no event)', blocked: false, released };
  const outcome = describeEvent(step.statement, own);
  if (own.kind === 'blocked') return { outcome, blocked: true, released };
  return own.result.error
    ? { outcome, blocked: false, error: own.result.error, released }
    : { outcome, blocked: false, rows: own.result.rows, released };
}
