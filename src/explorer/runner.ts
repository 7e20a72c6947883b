import type { Backend, Event, IsolationLevel, TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import { DefinitionError, thrownName } from '../errors.ts';
import { checkStatement, programOrigin } from '../model/check-statement.ts';
import { createTx, StatementFailure, type OperationResult, type TxGenerator } from '../model/program.ts';
import { seedTables, type Fate, type Scenario, type Strategy, type TxOutcome, type Workload } from '../model/scenario.ts';
import type { Tables } from '../model/schema.ts';
import type { DbError, Statement, StatementResult } from '../model/statement.ts';
import type { Chooser } from './schedule.ts';

/** Steps a run may take before it is taken for a program that never ends. */
const maxSteps = 100_000;

/** What to run: a scenario's workload under one strategy and isolation level. */
export interface RunPlan {
  readonly scenario: Scenario;
  readonly strategy: Strategy;
  readonly isolation: IsolationLevel;
  readonly workload: Workload;
  /** Told when a program reads its transaction's id (`tx.id`): exhaustive search then no longer takes transactions running the same operation on the same arguments for interchangeable (`symmetry.ts`). */
  readonly onIdRead?: () => void;
  /** Starts each transaction's program (`start(id)` starts it given `id`): exhaustive search runs interchangeable transactions' programs beside shadows of themselves (`id-columns.ts`). */
  readonly startProgram?: (tx: TxId, start: (id: number) => TxGenerator<OperationResult>) => TxGenerator<OperationResult>;
}

/** One step: the statement a transaction submitted and how every affected transaction stood once the step settled. */
export interface Step {
  readonly tx: TxId;
  readonly statement: Statement;
  readonly events: readonly Event[];
}

/** The statement `tx` was blocked on and that completed during `step`: its last statement submitted before that step. */
export function releasedStatement(steps: readonly Step[], step: Step, tx: TxId): Statement {
  let found = step.statement;
  for (const s of steps) {
    if (s === step) break;
    if (s.tx === tx) found = s.statement;
  }
  return found;
}

/** Everything a run did, in order. */
export interface Trace {
  readonly steps: readonly Step[];
  readonly outcomes: readonly TxOutcome[];
  /** Context switches away from a transaction that could have gone on. */
  readonly preemptions: number;
  /** Final committed contents of every table. */
  readonly final: Tables;
}

/** A request from the run to its backend. */
export type BackendCall = { readonly kind: 'step'; readonly tx: TxId; readonly statement: Statement } | { readonly kind: 'abandon'; readonly tx: TxId };

interface TxRun {
  readonly id: TxId;
  readonly operation: string;
  readonly args: unknown;
  readonly program: TxGenerator<OperationResult>;
  pending: Statement | null;
  blocked: boolean;
  done: boolean;
  /** A database transaction is open (some statement ran since the last commit or rollback). */
  open: boolean;
  /** The open transaction already failed with an error. */
  failed: boolean;
  fate: Fate;
  result: OperationResult | undefined;
  error: DbError | undefined;
  attempts: number;
}

/**
 * Runs a workload as a generator of backend calls, so the same logic drives
 * the synchronous memory engine (fast exploration) and PostgreSQL (replay).
 */
export function runWorkload(spec: RunPlan, chooser: Chooser): Generator<BackendCall, Omit<Trace, 'final'>, readonly Event[]> {
  return new WorkloadRun(spec, chooser).calls();
}

class WorkloadRun {
  private readonly txs: TxRun[];
  private readonly steps: Step[] = [];
  private readonly queued: BackendCall[] = [];
  private preemptions = 0;

  constructor(
    private readonly spec: RunPlan,
    private readonly chooser: Chooser,
  ) {
    this.txs = spec.workload.map((w, i) => {
      const id = i + 1;
      if (!Object.hasOwn(spec.strategy.programs, w.operation)) throw new DefinitionError(`${programOrigin(spec.scenario, spec.strategy, w.operation, id)}: the strategy has no program for this operation.`);
      const program = spec.strategy.programs[w.operation];
      return {
        id,
        operation: w.operation,
        args: w.args,
        program: spec.startProgram ? spec.startProgram(id, (i) => program(createTx(i, spec.onIdRead), w.args)) : program(createTx(id, spec.onIdRead), w.args),
        pending: null,
        blocked: false,
        done: false,
        open: false,
        failed: false,
        fate: 'rolled-back',
        result: undefined,
        error: undefined,
        attempts: 0,
      };
    });
  }

  *calls(): Generator<BackendCall, Omit<Trace, 'final'>, readonly Event[]> {
    const { txs, steps, queued } = this;
    for (const t of txs) this.deliver(t, undefined);
    const runnable: TxId[] = [];
    let last: TxId = 0;
    for (;;) {
      while (queued.length > 0) this.apply(yield queued.shift()!);
      runnable.length = 0;
      let unfinished = 0;
      for (const t of txs) {
        if (t.done) continue;
        unfinished++;
        if (!t.blocked) runnable.push(t.id);
      }
      if (unfinished === 0) break;
      if (runnable.length === 0) throw new Error('every unfinished transaction is blocked and no deadlock was detected');
      const tx = this.chooser.choose(runnable, last);
      if (tx === undefined) break;
      if (last !== 0 && tx !== last && runnable.includes(last)) this.preemptions++;
      last = tx;
      const statement = txs[tx - 1].pending!;
      if (steps.length >= maxSteps) throw new DefinitionError(`${programOrigin(this.spec.scenario, this.spec.strategy, txs[tx - 1].operation, tx)}: the run took ${maxSteps} steps without ending; a program must end with a commit or a rollback.`);
      const events = yield { kind: 'step', tx, statement };
      steps.push({ tx, statement, events });
      this.apply(events);
    }
    const outcomes: TxOutcome[] = txs.map((t) => ({
      id: t.id,
      operation: t.operation,
      args: t.args,
      result: t.result,
      fate: t.fate,
      ...(t.error ? { error: t.error } : {}),
      attempts: t.attempts,
    }));
    return { steps, outcomes, preemptions: this.preemptions };
  }

  private apply(events: readonly Event[]): void {
    for (const e of events) {
      const t = this.txs[e.tx - 1];
      if (t.done) continue; // the ROLLBACK of a program that gave up
      if (e.kind === 'blocked') {
        t.blocked = true;
      } else {
        t.blocked = false;
        this.deliver(t, e.result);
      }
    }
  }

  /** Feeds a statement's result to its program and takes its next statement; queues a ROLLBACK when the program gave up on an open transaction. */
  private deliver(t: TxRun, result: StatementResult | undefined): void {
    const statement = t.pending;
    if (statement !== null && result !== undefined) {
      if (statement.kind === 'commit' || statement.kind === 'rollback') {
        t.fate = statement.kind === 'commit' && !t.failed && !result.error ? 'committed' : 'rolled-back';
        t.open = false;
        t.failed = false;
      } else if (result.error) {
        t.failed = true;
      } else if (statement.kind === 'rollback-to') {
        // ROLLBACK TO a savepoint ends the failed state an error inside it left.
        t.failed = false;
      }
    }
    let next: IteratorResult<Statement, OperationResult>;
    try {
      next = result === undefined ? t.program.next() : t.program.next(result);
    } catch (e) {
      if (!(e instanceof StatementFailure)) throw this.programThrew(t, e);
      t.done = true;
      t.pending = null;
      t.fate = 'aborted';
      t.error = e.error;
      if (t.open) {
        t.open = false;
        this.queued.push({ kind: 'abandon', tx: t.id });
      }
      return;
    }
    if (next.done) {
      t.done = true;
      t.pending = null;
      t.result = next.value;
      if (t.open) throw new DefinitionError(`${programOrigin(this.spec.scenario, this.spec.strategy, t.operation, t.id)} returned without commit or rollback; end every transaction with yield* tx.commit(result) or yield* tx.rollback(result).`);
      return;
    }
    const s = next.value;
    checkStatement(this.spec.scenario, this.spec.strategy, t.operation, t.id, s);
    t.pending = s;
    if (s.kind !== 'commit' && s.kind !== 'rollback' && !t.open) {
      t.open = true;
      t.attempts++;
    }
  }

  /** A program that threw something other than a failed statement has a bug: a `DefinitionError` naming it, with the error as its cause. */
  private programThrew(t: TxRun, e: unknown): DefinitionError {
    const { scenario, strategy } = this.spec;
    return new DefinitionError(`${programOrigin(scenario, strategy, t.operation, t.id)} threw ${thrownName(e)}.`, { cause: e });
  }
}

/** Runs a workload on the memory engine, synchronously. */
export function runOnEngine(engine: Engine, spec: RunPlan, chooser: Chooser): Trace {
  engine.reset(seedTables(spec.scenario), spec.isolation);
  const run = runWorkload(spec, chooser);
  let r = run.next();
  while (!r.done) {
    const call = r.value;
    r = run.next(call.kind === 'step' ? engine.step(call.tx, call.statement) : engine.abandon(call.tx));
  }
  const { steps, outcomes, preemptions } = r.value;
  return { steps, outcomes, preemptions, final: engine.tables() };
}

/** Runs a workload on any backend (PostgreSQL for replay), one awaited step at a time. */
export async function runOnBackend(backend: Backend, spec: RunPlan, chooser: Chooser): Promise<Trace> {
  await backend.reset(seedTables(spec.scenario), spec.isolation);
  const run = runWorkload(spec, chooser);
  let r = run.next();
  while (!r.done) {
    const call = r.value;
    r = run.next(call.kind === 'step' ? await backend.step(call.tx, call.statement) : await backend.abandon(call.tx));
  }
  return { ...r.value, final: await backend.tables() };
}
