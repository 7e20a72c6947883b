import type { Event, TxId } from '../adapters/backend.ts';
import type { DependencyGraph } from '../adapters/memory/dependency-graph.ts';
import { InputError } from '../errors.ts';
import { seedTables, type Scenario, type TxOutcome } from '../model/scenario.ts';
import type { Row, Tables } from '../model/schema.ts';
import { describeStatement, type Statement, type StatementResult } from '../model/statement.ts';
import { workloadOf, type Counterexample } from '../explorer/counterexample.ts';
import { recordingModel } from '../explorer/model-engine.ts';
import { runWorkload, type RunPlan } from '../explorer/runner.ts';
import { stepOrder } from '../explorer/schedule.ts';

/** One statement of a run, from the step that submitted it to the step it completed at. */
export interface StatementRun {
  readonly tx: TxId;
  readonly statement: Statement;
  /** In lockstep's short form: `update accounts set balance=2700 where id=1`. */
  readonly text: string;
  /** The step (0-based) that submitted it. */
  readonly submitted: number;
  /** The step (0-based) it completed at; later than `submitted` when it waited for a lock; undefined if the run ended first. */
  completed?: number;
  result?: StatementResult;
  /** The transactions it waited for, when it blocked. */
  blockedBy?: readonly TxId[];
  /** The database transaction of `tx` it belongs to: 1 for the first, 2 after a commit, rollback or retry. */
  readonly attempt: number;
}

/** A write not yet committed after a step: a row as its transaction sees it. */
export interface UncommittedWrite {
  readonly tx: TxId;
  readonly table: string;
  readonly kind: 'insert' | 'update' | 'delete';
  readonly row: Row;
}

/** One step of the schedule, replayed on the memory engine. */
export interface HistoryStep {
  readonly tx: TxId;
  /** The statement the step submitted (index into `RunHistory.statements`). */
  readonly statement: number;
  /** Statements of other transactions that completed during this step (released from a wait). */
  readonly released: readonly number[];
  /** Transactions whose program gave up during this step and were rolled back. */
  readonly abandoned: readonly TxId[];
  /** The committed contents of every table once the step settled. */
  readonly tables: Tables;
  /** Writes of transactions still open once the step settled. */
  readonly uncommitted: readonly UncommittedWrite[];
}

/** A counterexample's schedule run again step by step, with everything a report draws. */
export interface RunHistory {
  readonly initial: Tables;
  readonly steps: readonly HistoryStep[];
  readonly statements: readonly StatementRun[];
  readonly outcomes: readonly TxOutcome[];
  /** The dependency graph among the committed transactions (Adya's DSG). */
  readonly graph: DependencyGraph;
}

/**
 * Runs a counterexample's schedule again on a recording memory engine, one
 * step at a time, keeping each statement's result and the tables after
 * every step.
 *
 * ```ts
 * const history = runHistory(cx, pointsDeduct);
 * history.steps[2].tables.accounts; // [{ id: 1, balance: 3000 }]: T2's update is not committed yet
 * ```
 */
export function runHistory(cx: Counterexample, scenario: Scenario): RunHistory {
  const strategy = scenario.strategies[cx.strategy];
  if (!strategy) throw new InputError(`Scenario ${scenario.id} has no strategy ${JSON.stringify(cx.strategy)}.`);
  const spec: RunPlan = { scenario, strategy, isolation: cx.isolation, workload: workloadOf(cx) };
  const engine = recordingModel(scenario.schema);
  engine.reset(seedTables(scenario), spec.isolation);
  const initial = engine.tables();
  const statements: StatementRun[] = [];
  const steps: { tx: TxId; statement: number; released: number[]; abandoned: TxId[]; tables: Tables; uncommitted: UncommittedWrite[] }[] = [];
  /** The statement each transaction has in flight, and its writes not yet committed. */
  const inFlight = new Map<TxId, number>();
  const attempts = new Map<TxId, number>();
  const open = new Map<TxId, boolean>();
  const writes = new Map<TxId, UncommittedWrite[]>();
  const settle = (events: readonly Event[], step: (typeof steps)[number], index: number) => {
    for (const e of events) {
      const at = inFlight.get(e.tx);
      if (at === undefined) continue; // the ROLLBACK of a program that gave up
      const run = statements[at];
      if (e.kind === 'blocked') {
        run.blockedBy = e.waitsFor;
        continue;
      }
      run.completed = index;
      run.result = e.result;
      inFlight.delete(e.tx);
      if (at !== step.statement) step.released.push(at);
      noteWrites(run, e.result);
    }
  };
  const noteWrites = (run: StatementRun, result: StatementResult) => {
    const s = run.statement;
    if (s.kind === 'commit' || s.kind === 'rollback' || result.error) {
      writes.set(run.tx, []);
      if (s.kind === 'commit' || s.kind === 'rollback') open.set(run.tx, false);
      return;
    }
    if (s.kind === 'insert' || s.kind === 'update' || s.kind === 'delete') {
      const mine = writes.get(run.tx) ?? [];
      for (const row of result.rows) mine.push({ tx: run.tx, table: s.table, kind: s.kind, row });
      writes.set(run.tx, mine);
    }
  };
  const run = runWorkload(spec, stepOrder(cx.schedule));
  let r = run.next();
  while (!r.done) {
    const call = r.value;
    let events: Event[];
    if (call.kind === 'step') {
      const { tx, statement } = call;
      if (statement.kind !== 'commit' && statement.kind !== 'rollback' && !open.get(tx)) {
        open.set(tx, true);
        attempts.set(tx, (attempts.get(tx) ?? 0) + 1);
      }
      const index = statements.length;
      statements.push({ tx, statement, text: describeStatement(statement), submitted: steps.length, attempt: attempts.get(tx) ?? 1 });
      inFlight.set(tx, index);
      const step = { tx, statement: index, released: [], abandoned: [], tables: {}, uncommitted: [] };
      steps.push(step);
      events = engine.step(tx, statement);
      settle(events, step, steps.length - 1);
    } else {
      events = engine.abandon(call.tx);
      open.set(call.tx, false);
      writes.set(call.tx, []);
      const step = steps[steps.length - 1];
      if (step) {
        step.abandoned.push(call.tx);
        settle(events, step, steps.length - 1);
      }
    }
    const step = steps[steps.length - 1];
    if (step) {
      step.tables = engine.tables();
      step.uncommitted = [...writes.keys()].sort((a, b) => a - b).flatMap((t) => writes.get(t)!);
    }
    r = run.next(events);
  }
  if (steps.length !== cx.schedule.length) {
    throw new InputError(`The counterexample's schedule does not run on the model: it ran ${steps.length} of its ${cx.schedule.length} steps.`);
  }
  return { initial, steps, statements, outcomes: r.value.outcomes, graph: engine.dependencies() };
}
