import type { Event, IsolationLevel, TxId } from '../backend.ts';
import { canonicalTables, type Row, type Schema, type Tables } from '../../model/schema.ts';
import { isSavepointControl, SqlState, type Statement } from '../../model/statement.ts';
import { savepointStep } from './savepoints.ts';
import { visibleVersion, type Version } from './mvcc.ts';
import { messages, newXact, Run, tableDefinitions, type RaceResolver, type TableDefinition } from './run.ts';
import { serializableCommit } from './serializable.ts';
import { runStateKey } from './state-key.ts';
import { runStatement, startStatement } from './statements.ts';
import { fail } from './failure.ts';
import { abort, canGoOn, commit, deadlockVictim, nextWoken, recordLateSsiEnds } from './wakeups.ts';
import { cycleThrough, reportedBlockers } from './wait-for-graph.ts';
import { dependencyGraph, type DependencyGraph } from './dependency-graph.ts';
import type { Xact } from './xact.ts';
import type { EngineStateKey, TableNames } from '../engine.ts';

export type { RaceResolver } from './run.ts';

/**
 * The in-memory MVCC engine: a synchronous simulation of how PostgreSQL runs
 * concurrent transactions. Row versions with creating and deleting
 * transactions, snapshots per statement (read committed) or per transaction
 * (repeatable read), row locks with first-come-first-served queues, unique
 * indexes that make a second inserter wait, READ COMMITTED re-checks of the
 * newest row version after a wait, and a wait-for graph that aborts the
 * transaction closing a cycle with 40P01.
 *
 * This class is the step loop: it starts a statement, runs it as far as it
 * goes, and settles what the step released. What a run changes lives in a
 * `Run` created by each `reset` (`run.ts`); statements over row versions in
 * `statements.ts`; inserts and unique indexes in `inserts.ts`; ends, wake-ups,
 * races and deadlock victims in `wakeups.ts`; SERIALIZABLE's checks in
 * `serializable.ts` over `ssi.ts`.
 *
 * ```ts
 * const engine = new MemoryEngine(schema);
 * engine.reset({ accounts: [{ id: 1, balance: 3000 }] }, 'read-committed');
 * engine.step(1, { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' });
 * engine.step(2, { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' }); // [{ tx: 2, kind: 'blocked', waitsFor: [1] }]
 * ```
 */
export class MemoryEngine {
  private readonly definitions: readonly TableDefinition[];
  /** The committed transaction that created the seed rows; it reads the committed state for `tables()`. */
  private readonly seedXact: Xact;
  private run: Run;
  private history = false;

  /**
   * `resolveRace`, when given, decides races among waiters (see
   * `RaceResolver`); replay uses it to follow the order PostgreSQL took.
   */
  constructor(
    readonly schema: Schema,
    private readonly resolveRace?: RaceResolver,
  ) {
    this.definitions = tableDefinitions(schema);
    this.seedXact = newXact(1, 0, 'read-committed', false);
    this.seedXact.status = 'committed';
    this.run = new Run(this.definitions, {}, 'read-committed', this.seedXact, resolveRace, false);
  }

  /**
   * When true, transactions record what they read, so that `dependencies()`
   * can build the run's dependency graph. Off during exploration (it costs
   * time); anomaly classification runs a counterexample again with it on.
   */
  get recordHistory(): boolean {
    return this.history;
  }

  set recordHistory(on: boolean) {
    this.history = on;
    this.run.recordHistory = on;
  }

  /** Every choice made among racing waiters in the current run, in order. */
  get races(): Run['races'] {
    return this.run.races;
  }

  /** Starts a run: every table holds exactly `seed`, no transaction is open. */
  reset(seed: Tables, isolation: IsolationLevel): void {
    this.run = new Run(this.definitions, seed, isolation, this.seedXact, this.resolveRace, this.history);
  }

  /** Runs one statement of `tx` and settles; see `Backend.step`. */
  step(tx: TxId, statement: Statement): Event[] {
    this.run.steps++;
    return this.runStatement(tx, statement);
  }

  /** Runs one statement of `tx` and settles: a step, or an abandon's ROLLBACK. */
  private runStatement(tx: TxId, statement: Statement): Event[] {
    const run = this.run;
    run.events = [];
    run.stepStart = run.waitClock;
    const slot = run.slot(tx);
    if (statement.kind === 'commit' || statement.kind === 'rollback') {
      const xact = slot.xact;
      slot.xact = null;
      // A COMMIT of a transaction an error inside a savepoint left failed rolls it back, as PostgreSQL's does.
      const committing = statement.kind === 'commit' && xact !== null && xact.subFailed === undefined;
      const failure = xact !== null && xact.status === 'active' && committing ? serializableCommit(run, xact) : null;
      if (failure) {
        abort(run, xact!);
        run.complete(tx, { error: failure });
      } else {
        if (xact !== null && xact.status === 'active') {
          if (committing) commit(run, xact);
          else abort(run, xact);
        }
        run.complete(tx, { rows: [] });
      }
    } else if (isSavepointControl(statement)) {
      const xact = (slot.xact ??= run.begin(tx));
      const error = savepointStep(run, xact, statement);
      if (error) fail(run, xact, error);
    } else {
      if (slot.xact === null) slot.xact = run.begin(tx);
      const xact = slot.xact;
      if (xact.status === 'aborted' || xact.subFailed !== undefined) {
        run.complete(tx, { error: { code: SqlState.inFailedTransaction, message: messages.inFailedTransaction } });
      } else {
        if (xact.pending !== null) throw new Error(`T${tx} is blocked and cannot take a step`);
        const started = startStatement(run, xact, statement);
        if ('code' in started) fail(run, xact, started);
        else {
          xact.pending = started;
          advance(run, xact, true);
        }
      }
    }
    settle(run);
    return run.events.length > 1 ? run.events.sort((a, b) => a.tx - b.tx) : run.events;
  }

  /** Ends `tx`'s transaction after an error its program did not handle, as a ROLLBACK would (not a step of the trace: `Run.steps` does not count it). */
  abandon(tx: TxId): Event[] {
    return this.runStatement(tx, { kind: 'rollback' });
  }

  /** True while `tx` has a statement waiting for a lock. */
  isBlocked(tx: TxId): boolean {
    return this.run.slots[tx]?.xact?.wait != null;
  }

  /**
   * A canonical name of everything the current run holds between steps
   * (`state-key.ts`): equal names, the same continuations. Null where it
   * does not cover the run (SERIALIZABLE, savepoints, a recorded history, a
   * race resolver).
   */
  stateKey(leaveOut?: TableNames): EngineStateKey | null {
    return this.resolveRace === undefined ? runStateKey(this.run, this.seedXact, leaveOut) : null;
  }

  /** Committed contents of every table, rows in primary-key order. */
  tables(): Tables {
    const run = this.run;
    const out: Tables = {};
    for (const state of run.tables.values()) {
      const rows: Row[] = [];
      for (const chain of state.rows) {
        const v = visibleVersion(chain, this.seedXact, run.commitSeq);
        if (v) rows.push(v.data);
      }
      out[state.name] = rows;
    }
    return canonicalTables(this.schema, out);
  }

  /**
   * The committed rows of every table in heap order, as their primary keys:
   * the order a sequential scan meets them (by line pointer), then the order
   * a bitmap heap scan does (by HOT chain root). With `tables()`, all a later
   * statement can tell of the committed state (`StateKeys`).
   */
  heapOrder(leaveOut?: TableNames): string {
    const run = this.run;
    const out: string[] = [];
    for (const state of run.tables.values()) {
      if (leaveOut?.has(state.name)) continue;
      const versions: Version[] = [];
      for (const chain of state.rows) {
        const v = visibleVersion(chain, this.seedXact, run.commitSeq);
        if (v) versions.push(v);
      }
      const key = (v: Version) => state.schema.primaryKey.map((c) => JSON.stringify(v.data[c])).join(',');
      out.push(versions.sort((a, b) => a.line - b.line).map(key).join(' '), versions.sort((a, b) => a.root - b.root).map(key).join(' '));
    }
    return out.join('\n');
  }

  /** The dependency graph of the run so far (requires `recordHistory`). */
  dependencies(): DependencyGraph {
    const tables = [...this.run.tables.values()].map((t) => ({ name: t.name, rows: t.rows, key: (row: Row) => t.schema.primaryKey.map((c) => String(row[c])).join(',') }));
    return dependencyGraph(this.run.recorded, tables);
  }
}

/**
 * Runs the pending statement of `xact` as far as it can go and records what
 * happened. A statement that comes to a wait may close a wait-for cycle: the
 * one stepped fails with 40P01, or, for one released from a wait, the
 * cycle's deadlock victim does.
 */
function advance(run: Run, xact: Xact, stepped: boolean): void {
  const pending = xact.pending!;
  const progress = runStatement(run, xact, pending);
  if (progress === 'blocked') {
    xact.waitSince = ++run.waitClock;
    const cycle = cycleThrough(xact);
    if (cycle) {
      fail(run, stepped ? xact : deadlockVictim(run, cycle), { code: SqlState.deadlockDetected, message: messages.deadlock });
      if (!stepped) return;
    } else if (stepped) {
      run.events.push({ tx: xact.tx, kind: 'blocked', waitsFor: reportedBlockers(xact).map((x) => x.tx) });
    }
    return;
  }
  if (progress === 'done') {
    xact.pending = null;
    run.complete(xact.tx, { rows: pending.out });
  } else {
    fail(run, xact, progress);
  }
}

/**
 * Lets every woken statement go on until nothing more moves: by default in
 * the order they were woken (the order the locks were granted). Woken
 * transactions run at once in PostgreSQL, so when several are ready, which
 * goes first is a race (a unique-index waiter may re-check before a row
 * lock waiter of the same committed transaction writes, or after): the
 * resolver may pick another (`nextWoken`).
 */
function settle(run: Run): void {
  const woken = run.woken;
  while (woken.length > 0 || run.rewaited.length > 0) {
    if (woken.length === 0) {
      // A transaction that began a new wait during the step and closes a wait-for cycle: a deadlock, found once its timer fires.
      const waiter = run.rewaited.shift()!;
      const cycle = waiter.status === 'active' && waiter.wait !== null ? cycleThrough(waiter) : null;
      if (cycle) fail(run, deadlockVictim(run, cycle), { code: SqlState.deadlockDetected, message: messages.deadlock });
      continue;
    }
    const xact = nextWoken(run);
    woken.splice(woken.indexOf(xact), 1);
    xact.grantedOnWake = null;
    if (canGoOn(xact)) advance(run, xact, false);
    if (run.lateSsiEnds.length > 0) recordLateSsiEnds(run, xact);
  }
  if (run.lateSsiEnds.length > 0) recordLateSsiEnds(run);
  if (run.jumpedAhead.length > 0) run.jumpedAhead.length = 0;
}
