import type { Event, IsolationLevel, TxId } from '../backend.ts';
import { canonicalTables, compareBy, constraintName, sameValues, uniqueIndexes, type Row, type Schema, type TableSchema, type Tables } from '../../model/schema.ts';
import {
  applyChanges,
  isComparison,
  matches,
  SqlState,
  type DbError,
  type InsertStatement,
  type SelectStatement,
  type Statement,
  type StatementResult,
  type UpdateStatement,
  type DeleteStatement,
  type Where,
} from '../../model/statement.ts';
import { newestVersion, sees, undoWrites, visibleVersion, type RowChain, type Version } from './mvcc.ts';
import { conflictingHolders, firstConflictingHolder, leaveQueue, modeOf, queuedVersion, release, sleeping, tryLock, upgrading, type RowLockMode } from './row-lock.ts';
import { afterAbort, afterCommit, conflictIn, conflictOut, newSsiState, preCommit, SerializationFailure, ssiMessage, type SsiClock, type WriteTarget } from './ssi.ts';
import { cycleThrough, reportedBlockers } from './wait-for-graph.ts';
import { dependencyGraph, type DependencyGraph } from './dependency-graph.ts';
import type { PendingStatement, Xact } from './xact.ts';

interface TableState {
  readonly name: string;
  readonly schema: TableSchema;
  readonly uniques: readonly (readonly string[])[];
  rows: RowChain[];
}

/** Where a workload transaction stands: its open database transaction, if any. */
interface TxSlot {
  xact: Xact | null;
}

type Progress = 'done' | 'blocked' | DbError;

const messages = {
  deadlock: 'deadlock detected',
  concurrentUpdate: 'could not serialize access due to concurrent update',
  concurrentDelete: 'could not serialize access due to concurrent delete',
  inFailedTransaction: 'current transaction is aborted, commands ignored until end of transaction block',
  integerOutOfRange: 'integer out of range',
};

/**
 * The in-memory MVCC engine: a synchronous simulation of how PostgreSQL runs
 * concurrent transactions. Row versions with creating and deleting
 * transactions, snapshots per statement (read committed) or per transaction
 * (repeatable read), row locks with first-come-first-served queues, unique
 * indexes that make a second inserter wait, READ COMMITTED re-checks of the
 * newest row version after a wait, and a wait-for graph that aborts the
 * transaction closing a cycle with 40P01.
 *
 * ```ts
 * const engine = new MemoryEngine(schema);
 * engine.reset({ accounts: [{ id: 1, balance: 3000 }] }, 'read-committed');
 * engine.step(1, { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' });
 * engine.step(2, { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' }); // [{ tx: 2, kind: 'blocked', waitsFor: [1] }]
 * ```
 */
export class MemoryEngine {
  private readonly tableStates = new Map<string, TableState>();
  private slots: TxSlot[] = [];
  private isolation: IsolationLevel = 'read-committed';
  private commitSeq = 0;
  private nextXid = 1;
  private readonly seedXact: Xact;
  private events: Event[] = [];
  private woken: Xact[] = [];
  private waitClock = 0;
  /** `waitClock` when the current step began. */
  private stepStart = 0;
  /** Waiters that began a new wait during the current step without being woken (see `releaseRow`). */
  private rewaited: Xact[] = [];
  /** The woken transactions the one now advancing in `settle` was picked ahead of. */
  private jumpedAhead = new Set<Xact>();
  /** Every SERIALIZABLE transaction of the run, for SIREAD lock checks. */
  private serializable: Xact[] = [];
  private ssiClock: SsiClock = { last: 0 };
  /** SIREAD locks taken in this run, for their order (see `SireadLock.seq`). */
  private sireadSeq = 0;
  /** Every transaction of the run when `recordHistory` is on. */
  private recorded: Xact[] = [];
  /**
   * When true, transactions record what they read, so that `dependencies()`
   * can build the run's dependency graph. Off during exploration (it costs
   * time); anomaly classification runs a counterexample again with it on.
   */
  recordHistory = false;
  /** Every choice made among racing waiters in the current run, in order. */
  races: RaceDecision[] = [];

  /**
   * `resolveRace`, when given, decides races among waiters (see
   * `RaceResolver`); replay uses it to follow the order PostgreSQL took.
   */
  constructor(
    readonly schema: Schema,
    private readonly resolveRace?: RaceResolver,
  ) {
    for (const [name, table] of Object.entries(schema)) {
      this.tableStates.set(name, { name, schema: table, uniques: uniqueIndexes(table), rows: [] });
    }
    this.seedXact = this.newXact(0);
    this.seedXact.status = 'committed';
  }

  /** Starts a run: every table holds exactly `seed`, no transaction is open. */
  reset(seed: Tables, isolation: IsolationLevel): void {
    this.isolation = isolation;
    this.serializable = [];
    this.ssiClock = { last: 0 };
    this.sireadSeq = 0;
    this.recorded = [];
    this.woken = [];
    this.events = [];
    this.waitClock = 0;
    this.stepStart = 0;
    this.rewaited = [];
    this.jumpedAhead.clear();
    this.slots = [];
    this.races = [];
    this.commitSeq = 0;
    this.nextXid = 1;
    for (const state of this.tableStates.values()) {
      const rows = seed[state.name] ?? [];
      state.rows = rows.map((data) => ({
        versions: [{ data, xmin: this.seedXact, xmax: null }],
        exclusive: null,
        shared: [],
        queue: [],
      }));
    }
  }

  /** Runs one statement of `tx` and settles; see `Backend.step`. */
  step(tx: TxId, statement: Statement): Event[] {
    this.events = [];
    this.stepStart = this.waitClock;
    const slot = this.slot(tx);
    if (statement.kind === 'commit' || statement.kind === 'rollback') {
      const xact = slot.xact;
      slot.xact = null;
      const failure = xact !== null && xact.status === 'active' && statement.kind === 'commit' ? this.preCommit(xact) : null;
      if (failure) {
        this.abort(xact!);
        this.complete(tx, { error: failure });
      } else {
        if (xact !== null && xact.status === 'active') {
          if (statement.kind === 'commit') this.commit(xact);
          else this.abort(xact);
        }
        this.complete(tx, { rows: [] });
      }
    } else {
      if (slot.xact === null) slot.xact = this.newXact(tx);
      const xact = slot.xact;
      if (xact.status === 'aborted') {
        this.complete(tx, { error: { code: SqlState.inFailedTransaction, message: messages.inFailedTransaction } });
      } else {
        if (xact.pending !== null) throw new Error(`T${tx} is blocked and cannot take a step`);
        const started = this.start(xact, statement);
        if ('code' in started) this.fail(xact, started);
        else {
          xact.pending = started;
          this.advance(xact, true);
        }
      }
    }
    this.settle();
    return this.events.length > 1 ? this.events.sort((a, b) => a.tx - b.tx) : this.events;
  }

  /** Ends `tx`'s transaction after an error its program did not handle, as a ROLLBACK would. */
  abandon(tx: TxId): Event[] {
    return this.step(tx, { kind: 'rollback' });
  }

  /** True while `tx` has a statement waiting for a lock. */
  isBlocked(tx: TxId): boolean {
    return this.slots[tx]?.xact?.wait != null;
  }

  /** Committed contents of every table, rows in primary-key order. */
  tables(): Tables {
    const reader = this.seedXact;
    const out: Tables = {};
    for (const state of this.tableStates.values()) {
      const rows: Row[] = [];
      for (const chain of state.rows) {
        const v = visibleVersion(chain, reader, this.commitSeq);
        if (v) rows.push(v.data);
      }
      out[state.name] = rows;
    }
    return canonicalTables(this.schema, out);
  }

  /** The dependency graph of the run so far (requires `recordHistory`). */
  dependencies(): DependencyGraph {
    const tables = [...this.tableStates.values()].map((t) => ({ name: t.name, rows: t.rows, key: (row: Row) => t.schema.primaryKey.map((c) => String(row[c])).join(',') }));
    return dependencyGraph(this.recorded, tables);
  }

  private slot(tx: TxId): TxSlot {
    return (this.slots[tx] ??= { xact: null });
  }

  private newXact(tx: TxId): Xact {
    const xact: Xact = {
      xid: this.nextXid++,
      tx,
      isolation: this.isolation,
      status: 'active',
      commitSeq: 0,
      snapshot: -1,
      locks: [],
      writes: [],
      endWaiters: [],
      pending: null,
      wait: null,
      waitSince: 0,
      queuedAt: null,
      walksFrom: null,
      awaited: null,
      grantedOnWake: null,
      ssi: this.isolation === 'serializable' && tx !== 0 ? newSsiState() : null,
      observations: this.recordHistory && tx !== 0 ? { items: [], predicates: [] } : null,
    };
    if (xact.ssi) this.serializable.push(xact);
    if (xact.observations) this.recorded.push(xact);
    return xact;
  }

  private table(name: string): TableState {
    const state = this.tableStates.get(name);
    if (!state) throw new Error(`unknown table ${name}`);
    return state;
  }

  private snapshotFor(xact: Xact): number {
    if (xact.isolation === 'read-committed') return this.commitSeq;
    if (xact.snapshot < 0) {
      xact.snapshot = this.commitSeq;
      if (xact.ssi) xact.ssi.lastCommitBeforeSnapshot = this.ssiClock.last;
    }
    return xact.snapshot;
  }

  private start(xact: Xact, statement: Statement): PendingStatement | DbError {
    const snapshot = this.snapshotFor(xact);
    let candidates: RowChain[] = [];
    if (statement.kind === 'select' || statement.kind === 'update' || statement.kind === 'delete') {
      const table = this.table(statement.table);
      const visible: { chain: RowChain; data: Row }[] = [];
      for (const chain of table.rows) {
        const v = visibleVersion(chain, xact, snapshot);
        if (v && matches(statement.where, v.data)) visible.push({ chain, data: v.data });
      }
      if (visible.length > 1) sortRows(visible, table.schema.primaryKey, statement.kind === 'select' ? statement.orderBy : undefined);
      candidates = visible.map(chainOf);
      if (xact.observations) xact.observations.predicates.push({ table: table.name, where: statement.where, seen: seenVersions(table.rows, xact, snapshot) });
      if (xact.ssi) {
        const failure = this.serializableRead(xact, table, statement.where, snapshot);
        if (failure) return failure;
      }
    }
    // A doomed insert fails at its heap write (`conflictIn`), not before: ON CONFLICT DO NOTHING may skip every row without one.
    return { statement, snapshot, candidates, next: 0, out: [] };
  }

  /**
   * What a SERIALIZABLE read adds, as PostgreSQL does it on a small table: a
   * doomed transaction fails as soon as it examines a row version; every
   * version it examines that a concurrent transaction created or replaced is
   * a conflict out; and the scan leaves SIREAD locks. A WHERE clause with
   * equalities on a leading part of the primary key or of a unique index is
   * an index scan (it examines the rows with that key, and locks the index
   * page and the tuples it fetched); anything else is a sequential scan (it
   * examines every row, and locks the relation).
   */
  private serializableRead(xact: Xact, table: TableState, where: Where<Row>, snapshot: number): DbError | null {
    const index = indexFor(table, where);
    const key = index?.filter((c) => c in where) ?? [];
    const writers: Xact[] = [];
    const tuples = new Set<RowChain>();
    let examined = false;
    for (const chain of table.rows) {
      const versions = chain.versions;
      if (versions.length === 0) continue;
      if (index && !versions.some((v) => (v.indexed === undefined || v.indexed > table.uniques.indexOf(index)) && sameKey(key, where, v.data))) continue;
      examined = true;
      let i = versions.length - 1;
      for (; i >= 0 && !sees(xact, snapshot, versions[i].xmin); i--) writers.push(versions[i].xmin);
      const seen = i >= 0 ? versions[i] : undefined;
      if (seen?.xmax && seen.xmax !== xact) writers.push(seen.xmax);
      // No SIREAD lock on a version the transaction wrote itself (PredicateLockTID skips those).
      if (index && seen && seen.xmin !== xact && !(seen.xmax && sees(xact, snapshot, seen.xmax)) && sameKey(key, where, seen.data)) tuples.add(chain);
    }
    if (examined && xact.ssi!.doomed) return serializationFailure;
    try {
      for (const writer of writers) conflictOut(xact, writer);
    } catch (e) {
      if (e instanceof SerializationFailure) return serializationFailure;
      throw e;
    }
    const seq = ++this.sireadSeq;
    xact.ssi!.reads.push(index ? { kind: 'index', table: table.name, index: index.join(), tuples, seq } : { kind: 'relation', table: table.name, seq });
    return null;
  }

  /** Runs the pending statement of `xact` as far as it can go and records what happened. */
  private advance(xact: Xact, stepped: boolean): void {
    const pending = xact.pending!;
    const progress = this.run(xact, pending);
    if (progress === 'blocked') {
      xact.waitSince = ++this.waitClock;
      const cycle = cycleThrough(xact);
      if (cycle) {
        this.fail(stepped ? xact : this.deadlockVictim(cycle), { code: SqlState.deadlockDetected, message: messages.deadlock });
        if (!stepped) return;
      } else if (stepped) {
        this.events.push({ tx: xact.tx, kind: 'blocked', waitsFor: reportedBlockers(xact).map((x) => x.tx) });
      }
      return;
    }
    if (progress === 'done') {
      xact.pending = null;
      this.complete(xact.tx, { rows: pending.out });
    } else {
      this.fail(xact, progress);
    }
  }

  private run(xact: Xact, p: PendingStatement): Progress {
    const s = p.statement;
    if (p.writing) {
      // Resume the index entries of the row written before the wait, then go on with the next row.
      const { chain, version, old } = p.writing;
      const entries = this.indexEntries(xact, p, this.table((s as InsertStatement | UpdateStatement).table), chain, version, old);
      if (entries !== 'done') return entries;
      p.out.push(version.data);
      p.next++;
    }
    switch (s.kind) {
      case 'select':
        return s.lock ? this.lockRows(xact, p, s, s.lock === 'update' ? 'exclusive' : 'share') : this.readRows(xact, p, s);
      case 'update':
      case 'delete':
        return this.lockRows(xact, p, s, 'exclusive');
      case 'insert':
        return this.insertRows(xact, p, s);
      default:
        throw new Error(`statement ${s.kind} cannot be pending`);
    }
  }

  private readRows(xact: Xact, p: PendingStatement, s: SelectStatement): Progress {
    const limit = Math.min(s.limit ?? Infinity, p.candidates.length);
    for (let i = 0; i < limit; i++) {
      const version = visibleVersion(p.candidates[i], xact, p.snapshot)!;
      xact.observations?.items.push({ table: s.table, chain: p.candidates[i], version });
      p.out.push(version.data);
    }
    return 'done';
  }

  /** Locking reads, updates and deletes: lock each candidate in order, re-check it, then act on it. */
  private lockRows(xact: Xact, p: PendingStatement, s: SelectStatement | UpdateStatement | DeleteStatement, mode: RowLockMode): Progress {
    const limit = s.kind === 'select' ? (s.limit ?? Infinity) : Infinity;
    while (p.next < p.candidates.length && p.out.length < limit) {
      const chain = p.candidates[p.next];
      if (xact.isolation !== 'read-committed') {
        // The version this snapshot sees was already replaced by a committed transaction: fail now, without waiting for the row lock.
        const seen = visibleVersion(chain, xact, p.snapshot);
        if (seen?.xmax && seen.xmax !== xact && seen.xmax.status === 'committed') return this.concurrentChange(chain, xact, s);
      }
      if (!tryLock(chain, xact, mode) && !this.overtakes(xact, chain, mode)) {
        xact.wait = { kind: 'row', chain, mode };
        // A share holder upgrading its lock takes no tuple lock (see `upgrading`).
        const at = upgrading(chain, xact) ? null : queuedVersion(visibleVersion(chain, xact, p.snapshot), newestVersion(chain, xact));
        xact.queuedAt = at;
        xact.walksFrom = s.kind === 'select' && at !== null ? at.xmax : null;
        chain.queue.push(xact);
        return 'blocked';
      }
      const seen = visibleVersion(chain, xact, p.snapshot);
      const newest = newestVersion(chain, xact);
      let target: Version | undefined = seen;
      if (newest !== seen) {
        if (xact.isolation !== 'read-committed') return this.concurrentChange(chain, xact, s);
        // READ COMMITTED: act on the newest committed version if it still matches.
        target = newest && matches(s.where, newest.data) ? newest : undefined;
        if (!newest) this.releaseRow(chain, xact);
      }
      if (target) xact.observations?.items.push({ table: s.table, chain, version: target });
      if (target && s.kind === 'update') {
        const data = applyChanges(s.set, target.data);
        if (outOfIntegerRange(data)) return { code: SqlState.numericOutOfRange, message: messages.integerOutOfRange };
        if (xact.ssi && !this.serializableWrite(xact, { table: s.table, chain, heap: true, existing: true, indexes: [] })) return serializationFailure;
        target.xmax = xact;
        const version: Version = { data, xmin: xact, xmax: null };
        chain.versions.push(version);
        xact.writes.push(chain);
        const entries = this.indexEntries(xact, p, this.table(s.table), chain, version, target.data);
        if (entries !== 'done') return entries;
        p.out.push(data);
      } else if (target && s.kind === 'delete') {
        if (xact.ssi && !this.serializableWrite(xact, { table: s.table, chain, heap: true, existing: true, indexes: [] })) return serializationFailure;
        target.xmax = xact;
        xact.writes.push(chain);
        p.out.push(target.data);
      } else if (target) {
        p.out.push(target.data);
      }
      p.next++;
    }
    return 'done';
  }

  /** 40001 under repeatable read: the row changed after the snapshot. Only UPDATE and DELETE say "concurrent delete" for a deleted row. */
  private concurrentChange(chain: RowChain, xact: Xact, s: SelectStatement | UpdateStatement | DeleteStatement): DbError {
    const deleted = !newestVersion(chain, xact) && s.kind !== 'select';
    return { code: SqlState.serializationFailure, message: deleted ? messages.concurrentDelete : messages.concurrentUpdate };
  }

  /** The writer side of SSI: readers holding SIREAD locks on what `xact` writes get an edge to it. False when `xact` must fail. */
  private serializableWrite(xact: Xact, target: WriteTarget): boolean {
    try {
      conflictIn(xact, target, this.serializable);
      return true;
    } catch (e) {
      if (e instanceof SerializationFailure) return false;
      throw e;
    }
  }

  /**
   * 23505, except under SERIALIZABLE where PostgreSQL first checks the
   * index page as a writer would, so a dangerous structure is reported as
   * 40001 rather than masked by the violation.
   */
  private uniqueViolation(xact: Xact, table: TableState, chain: RowChain, conflict: { readonly constraint: string; readonly columns: readonly string[] }): DbError {
    if (xact.ssi && !this.serializableWrite(xact, { table: table.name, chain, heap: false, existing: false, indexes: [conflict.columns.join()] })) return serializationFailure;
    return duplicateKey(conflict.constraint);
  }

  /** SSI's check before COMMIT: the error the COMMIT fails with, or null. */
  private preCommit(xact: Xact): DbError | null {
    if (!xact.ssi) return null;
    try {
      preCommit(xact, this.ssiClock);
      return null;
    } catch (e) {
      if (e instanceof SerializationFailure) return serializationFailure;
      throw e;
    }
  }

  private waitFor(xact: Xact, other: Xact): 'blocked' {
    xact.wait = { kind: 'xact', xact: other };
    other.endWaiters.push(xact);
    return 'blocked';
  }

  /**
   * Inserts row by row as PostgreSQL does: `ON CONFLICT DO NOTHING` first
   * checks every unique index (waiting for an inserter still running, then
   * skipping the row); then the heap insert (under SERIALIZABLE, the check
   * against relation locks) and the index entries (`indexEntries`).
   */
  private insertRows(xact: Xact, p: PendingStatement, s: InsertStatement): Progress {
    const table = this.table(s.table);
    while (p.next < s.rows.length) {
      const row = s.rows[p.next] as Row;
      if (s.onConflict === 'nothing') {
        const conflict = this.arbiterConflict(xact, p, table, row);
        if (conflict?.kind === 'wait') return this.waitFor(xact, conflict.xact);
        if (conflict) {
          p.next++;
          // Under repeatable read, PostgreSQL skips the row only if its snapshot sees the conflicting version itself (not an older version of that row).
          if (xact.isolation !== 'read-committed' && !sees(xact, p.snapshot, conflict.chain.versions[conflict.chain.versions.length - 1].xmin)) {
            return { code: SqlState.serializationFailure, message: messages.concurrentUpdate };
          }
          continue;
        }
      }
      if (outOfIntegerRange(row)) return { code: SqlState.numericOutOfRange, message: messages.integerOutOfRange };
      const version: Version = { data: row, xmin: xact, xmax: null };
      const chain: RowChain = { versions: [version], exclusive: null, shared: [], queue: [] };
      if (xact.ssi && !this.serializableWrite(xact, { table: s.table, chain, heap: true, existing: false, indexes: [] })) return serializationFailure;
      table.rows.push(chain);
      xact.writes.push(chain);
      const entries = this.indexEntries(xact, p, table, chain, version);
      if (entries !== 'done') return entries;
      p.next++;
      p.out.push(row);
    }
    return 'done';
  }

  /**
   * The pre-check of `ON CONFLICT DO NOTHING`, index by index. After a wait
   * PostgreSQL re-checks only the index it waited on and those after it; if
   * the row now conflicts in an earlier one, its speculative insertion finds
   * that and the pre-check starts over from the first index.
   */
  private arbiterConflict(xact: Xact, p: PendingStatement, table: TableState, row: Row): UniqueConflict | null {
    for (let from = p.arbiterFrom ?? 0; ; from = 0) {
      for (let i = from; i < table.uniques.length; i++) {
        const conflict = this.uniqueConflict(table, xact, row, undefined, undefined, [table.uniques[i]]);
        p.arbiterFrom = conflict?.kind === 'wait' ? i : undefined;
        if (conflict) return conflict;
      }
      if (from === 0) return null;
    }
  }

  /**
   * The index entries of a heap write, made as PostgreSQL makes them after
   * the heap tuple: for each unique index in order (primary key first), the
   * uniqueness check (a wait, or 23505), then under SERIALIZABLE the check of
   * the index page against SIREAD locks. So a write fails with 40001 for an
   * earlier index before a later index reports 23505. An update adds entries
   * only when it changes an indexed column (otherwise it is a HOT update).
   *
   * The version is already in the heap, so a wait here leaves it in the
   * indexes before the one waited on (`Version.indexed`), where other
   * writers' uniqueness checks find it, and the statement resumes at that
   * index (`PendingStatement.writing`).
   */
  private indexEntries(xact: Xact, p: PendingStatement, table: TableState, chain: RowChain, version: Version, old?: Row): 'done' | 'blocked' | DbError {
    const row = version.data;
    if (old && changedIndexes(table, old, row).length === 0) return 'done';
    for (let i = version.indexed ?? 0; i < table.uniques.length; i++) {
      const columns = table.uniques[i];
      const conflict = this.uniqueConflict(table, xact, row, chain, old, [columns]);
      if (conflict?.kind === 'wait') {
        version.indexed = i;
        p.writing = { chain, version, old };
        return this.waitFor(xact, conflict.xact);
      }
      if (conflict) return this.uniqueViolation(xact, table, conflict.chain, conflict);
      if (xact.ssi && !this.serializableWrite(xact, { table: table.name, chain, heap: false, existing: false, indexes: [columns.join()] })) return serializationFailure;
    }
    delete version.indexed;
    p.writing = undefined;
    return 'done';
  }

  /**
   * Checks `row` against every unique index (or only `indexes`) as PostgreSQL does, with a dirty
   * snapshot: a live committed (or own) row with the same key is a violation;
   * a row inserted or deleted by a transaction still in progress must be
   * waited for. An update passes its own row and old values, so unchanged
   * keys are not checked and its own row never conflicts. Every version of a
   * row is in the index, so an older version with the key that a running
   * transaction replaced is waited for too; a version not yet entered in an
   * index (see `indexEntries`) is not found there.
   */
  private uniqueConflict(table: TableState, xact: Xact, row: Row, own?: RowChain, old?: Row, indexes = table.uniques): UniqueConflict | null {
    for (const columns of indexes) {
      if (old && columns.every((c) => old[c] === row[c])) continue;
      const position = table.uniques.indexOf(columns);
      for (const chain of table.rows) {
        if (chain === own) continue;
        // Every version keeps its index entry until vacuum, oldest first: each one with the key is checked with a dirty snapshot.
        for (const version of chain.versions) {
          if ((version.indexed !== undefined && version.indexed <= position) || !sameValues(columns, version.data, row)) continue;
          if (version.xmin !== xact && version.xmin.status === 'active') return { kind: 'wait', xact: version.xmin };
          const deleter = version.xmax;
          if (deleter === null) return { kind: 'violation', constraint: constraintName(table.name, table.schema, columns), columns, chain };
          if (deleter !== xact && deleter.status === 'active') return { kind: 'wait', xact: deleter };
        }
      }
    }
    return null;
  }

  private complete(tx: TxId, result: StatementResult): void {
    this.events.push({ tx, kind: 'completed', result });
  }

  /** A statement failed: the transaction is aborted at once (its locks released), and the error is its result. */
  private fail(xact: Xact, error: DbError): void {
    xact.pending = null;
    this.abort(xact);
    this.complete(xact.tx, { error });
  }

  private commit(xact: Xact): void {
    xact.status = 'committed';
    xact.commitSeq = ++this.commitSeq;
    if (xact.ssi) afterCommit(xact, this.ssiClock);
    this.end(xact);
  }

  private abort(xact: Xact): void {
    xact.status = 'aborted';
    if (xact.ssi) afterAbort(xact);
    for (const chain of xact.writes) undoWrites(chain, xact);
    if (xact.wait !== null) {
      if (xact.wait.kind === 'row') leaveQueue(xact.wait.chain, xact);
      else {
        const waiters = xact.wait.xact.endWaiters;
        waiters.splice(waiters.indexOf(xact), 1);
      }
      xact.wait = null;
    }
    this.end(xact);
  }

  /** Releases the row locks of a finished transaction and wakes whoever waited for it (see `row-lock.ts` for who gets a row). */
  private end(xact: Xact): void {
    for (const chain of xact.locks) this.releaseRow(chain, xact);
    xact.locks.length = 0;
    if (xact.endWaiters.length > 0) this.wake(xact.endWaiters.splice(0));
  }

  /**
   * Releases `xact`'s lock on `chain` and wakes the waiters granted it. A
   * waiter that now sleeps on a holder of the row, and did not before or
   * slept on another (it has just taken PostgreSQL's tuple lock from the
   * one granted, its holder ended while another holder remains, it lost a
   * race to the winner), starts a new wait and deadlock timer. Those new
   * waits may close a cycle, which `settle` checks once nothing else moves
   * (`rewaited`).
   */
  private releaseRow(chain: RowChain, xact: Xact): void {
    const queue = chain.queue;
    if (queue.length === 0) {
      release(chain, xact, this.wakeOne);
      return;
    }
    for (const w of queue) w.awaited = sleeping(chain, w) ? firstConflictingHolder(chain, w, modeOf(w)) : null;
    release(chain, xact, this.wakeOne, this.pickWaiter);
    for (const w of queue) {
      if (!sleeping(chain, w)) continue;
      const holder = firstConflictingHolder(chain, w, modeOf(w));
      if (holder !== null && holder !== w.awaited) {
        w.waitSince = ++this.waitClock;
        this.rewaited.push(w);
      }
    }
  }

  /**
   * The deadlock victim when a transaction released from a wait closes a
   * cycle: PostgreSQL's choice stands (the statement is already running), the
   * member whose deadlock timer fires first, the one that has waited longest.
   * When every member began its current wait during this step, their timers
   * started in an order left to timing: a race, which the resolver may decide
   * otherwise.
   */
  private deadlockVictim(cycle: readonly Xact[]): Xact {
    const victim = longestWaiting(cycle);
    if (victim.waitSince <= this.stepStart) return victim;
    return this.pickWaiter([...cycle].sort((a, b) => a.waitSince - b.waitSince));
  }

  /** Chooses among racing waiters: the resolver given to the engine, else first come first served. Every decision is logged in `races`. */
  private readonly pickWaiter = (candidates: readonly Xact[]): Xact => {
    const ordinal = this.races.length;
    const wanted = this.resolveRace?.(ordinal, candidates.map((x) => x.tx));
    const chosen = candidates.find((x) => x.tx === wanted) ?? candidates[0];
    this.races.push({ ordinal, candidates: candidates.map((x) => x.tx), chosen: chosen.tx });
    return chosen;
  };

  private wake(xacts: Xact[]): void {
    for (const x of xacts) this.wakeOne(x);
  }

  private readonly wakeOne = (x: Xact): void => {
    if (x.wait?.kind === 'row') x.grantedOnWake = x.wait.chain;
    x.wait = null;
    this.woken.push(x);
  };

  /**
   * Transactions woken by the same commit or rollback run at once in
   * PostgreSQL. A waiter granted a row lock has not taken it yet when it
   * wakes: it must still come back and mark the row, and another woken
   * transaction moving on through its scan may mark that row first. So when
   * `xact`, running in this settle, finds a row held only by a waiter woken
   * for that row who has not run yet, which of the two takes it is a race:
   * first come, first served (the waiter keeps it) unless the resolver says
   * otherwise. If `xact` overtakes, it gets the lock and the waiter queues
   * again at the head of the row's queue.
   */
  private overtakes(xact: Xact, chain: RowChain, mode: RowLockMode): boolean {
    const holders = conflictingHolders(chain, xact, mode);
    if (holders.length !== 1 || holders[0].grantedOnWake !== chain) return false;
    const waiter = holders[0];
    // A waiter that `xact` was already picked ahead of in this settle has not come back for its row: `xact` takes it first.
    if (!this.jumpedAhead.has(waiter) && this.pickWaiter([waiter, xact]) !== xact) return false;
    const waiterMode: RowLockMode = chain.exclusive === waiter ? 'exclusive' : 'share';
    if (chain.exclusive === waiter) chain.exclusive = null;
    else chain.shared.splice(chain.shared.indexOf(waiter), 1);
    waiter.locks.splice(waiter.locks.indexOf(chain), 1);
    waiter.grantedOnWake = null;
    waiter.wait = { kind: 'row', chain, mode: waiterMode };
    chain.queue.unshift(waiter);
    return tryLock(chain, xact, mode);
  }

  /**
   * Lets every woken statement go on until nothing more moves: by default in
   * the order they were woken (the order the locks were granted). Woken
   * transactions run at once in PostgreSQL, so when several are ready, which
   * goes first is a race (a unique-index waiter may re-check before a row
   * lock waiter of the same committed transaction writes, or after): the
   * resolver may pick another.
   */
  private settle(): void {
    while (this.woken.length > 0 || this.rewaited.length > 0) {
      if (this.woken.length === 0) {
        // A transaction that began a new wait during the step and closes a wait-for cycle: a deadlock, found once its timer fires.
        const waiter = this.rewaited.shift()!;
        const cycle = waiter.status === 'active' && waiter.wait !== null ? cycleThrough(waiter) : null;
        if (cycle) this.fail(this.deadlockVictim(cycle), { code: SqlState.deadlockDetected, message: messages.deadlock });
        continue;
      }
      const xact = this.nextWoken();
      this.woken.splice(this.woken.indexOf(xact), 1);
      xact.grantedOnWake = null;
      if (canGoOn(xact)) this.advance(xact, false);
    }
    if (this.jumpedAhead.size > 0) this.jumpedAhead.clear();
  }

  /**
   * The woken transaction to go on next: the first woken, unless several can
   * go on and the resolver picks another. Those it is picked ahead of have not
   * run yet, so it may overtake them at the rows granted to them (`jumpedAhead`,
   * see `overtakes`).
   */
  private nextWoken(): Xact {
    if (this.jumpedAhead.size > 0) this.jumpedAhead.clear();
    if (this.woken.length === 1) return this.woken[0];
    const ready = this.woken.filter(canGoOn);
    if (ready.length <= 1) return this.woken[0];
    const xact = this.pickWaiter(ready);
    for (const x of ready) {
      if (x === xact) break;
      this.jumpedAhead.add(x);
    }
    return xact;
  }
}

/**
 * Decides the `ordinal`-th race of a run among waiting transactions
 * (candidates in arrival order); returning undefined, or a transaction not
 * among them, takes the first. PostgreSQL leaves this order to timing: after a
 * committed transaction replaced a row version, the waiters queued on the old
 * version hurry to the new one, and any of them may queue there first.
 */
export type RaceResolver = (ordinal: number, candidates: readonly TxId[]) => TxId | undefined;

/** One race decided during a run. */
export interface RaceDecision {
  readonly ordinal: number;
  readonly candidates: readonly TxId[];
  readonly chosen: TxId;
}

/**
 * The deadlock victim when a transaction released from one wait closes a
 * cycle: its statement is already running on PostgreSQL, so PostgreSQL's
 * choice stands, the member whose deadlock timer fires first, the one that
 * has waited longest.
 */
function longestWaiting(cycle: readonly Xact[]): Xact {
  return cycle.reduce((a, b) => (b.waitSince < a.waitSince ? b : a));
}

/** True when a woken transaction still has a statement to go on with. */
function canGoOn(x: Xact): boolean {
  return x.status === 'active' && x.pending !== null && x.wait === null;
}

/** PostgreSQL's integer columns hold 32 bits. */
function outOfIntegerRange(row: Row): boolean {
  for (const k in row) {
    const v = row[k];
    if (typeof v === 'number' && (v > 2147483647 || v < -2147483648)) return true;
  }
  return false;
}

type UniqueConflict =
  | { readonly kind: 'wait'; readonly xact: Xact }
  | { readonly kind: 'violation'; readonly constraint: string; readonly columns: readonly string[]; readonly chain: RowChain };

/** The unique index (primary key first) whose leading columns the WHERE clause fixes with equalities: the index PostgreSQL scans; undefined for a sequential scan. */
function indexFor(table: TableState, where: Where<Row>): readonly string[] | undefined {
  for (const columns of table.uniques) {
    const first = where[columns[0]];
    if (first !== undefined && !isComparison(first)) return columns;
  }
  return undefined;
}

/** True when `row` has the WHERE clause's values in the leading index columns `key`. */
function sameKey(key: readonly string[], where: Where<Row>, row: Row): boolean {
  for (const c of key) {
    const v = where[c];
    if (v === undefined || isComparison(v)) break;
    if (row[c] !== v) return false;
  }
  return true;
}

/** The indexes an update adds entries to: all of them when it changes an indexed column (not a HOT update), none otherwise. */
function changedIndexes(table: TableState, before: Row, after: Row): readonly string[] {
  const changed = table.uniques.some((columns) => columns.some((c) => before[c] !== after[c]));
  return changed ? table.uniques.map((u) => u.join()) : [];
}

const serializationFailure: DbError = { code: SqlState.serializationFailure, message: ssiMessage };

function duplicateKey(constraint: string): DbError {
  return { code: SqlState.uniqueViolation, message: `duplicate key value violates unique constraint "${constraint}"` };
}


/** For each row, the newest version whose creator `xact` sees at `snapshot`, and whether that version is visible (not deleted). */
function seenVersions(rows: readonly RowChain[], xact: Xact, snapshot: number): Map<RowChain, { index: number; visible: boolean }> {
  const seen = new Map<RowChain, { index: number; visible: boolean }>();
  for (const chain of rows) {
    const versions = chain.versions;
    let i = versions.length - 1;
    while (i >= 0 && !sees(xact, snapshot, versions[i].xmin)) i--;
    const v = versions[i];
    seen.set(chain, { index: i, visible: v !== undefined && !(v.xmax !== null && sees(xact, snapshot, v.xmax)) });
  }
  return seen;
}

function chainOf(v: { chain: RowChain }): RowChain {
  return v.chain;
}

/** Sorts candidate rows as PostgreSQL would return them: by the ORDER BY columns, then the primary key. */
function sortRows(rows: { data: Row }[], primaryKey: readonly string[], orderBy: SelectStatement['orderBy']): void {
  rows.sort((a, b) => {
    if (orderBy) {
      for (const [column, direction] of orderBy) {
        const c = compareBy([column], a.data, b.data);
        if (c !== 0) return direction === 'asc' ? c : -c;
      }
    }
    return compareBy(primaryKey, a.data, b.data);
  });
}
