import { compareBy, type Row } from '../../model/schema.ts';
import {
  isComparison,
  matches,
  parameterError,
  SqlState,
  updatedRow,
  type DbError,
  type DeleteStatement,
  type InsertStatement,
  type LockMode,
  type SelectStatement,
  type Statement,
  type UpdateStatement,
  type Where,
} from '../../model/statement.ts';
import { advisoryLock } from './advisory-locks.ts';
import { aggregateRow } from './aggregates.ts';
import { eventOutcome, eventQuery, eventsSpared, queueForeignKeys } from './foreign-keys.ts';
import { indexEntries, insertRows, writeNewVersion } from './inserts.ts';
import { newestVersion, sees, visibleVersion, type RowChain, type Version } from './mvcc.ts';
import { assignXid, conflictingHolders, holderMode, queuedVersion, tryLock, upgrading, type RowLockMode } from './row-lock.ts';
import { messages, type Progress, type Run, type TableState } from './run.ts';
import { serializableRead, serializableWrite, serializationFailure } from './serializable.ts';
import { conflictUpdate } from './upsert.ts';
import { overtakes, releaseRow } from './wakeups.ts';
import type { PendingStatement, Xact } from './xact.ts';

/*
 * Statements over row versions: a statement starts by taking its snapshot
 * and the rows it will process (`startStatement`), then runs as far as it
 * can (`runStatement`): plain reads return what the snapshot sees; locking
 * reads, updates and deletes lock each row in turn, waiting in the row's
 * queue when another transaction holds it, and re-check it after the wait;
 * inserts go through `inserts.ts`. A statement that waits resumes from
 * where it stopped (`PendingStatement`).
 */

/**
 * Starts `statement` for `xact`: its snapshot, and for a select, update or
 * delete the rows it sees that match, in the order it will process them.
 * Under SERIALIZABLE the scan is also an SSI read, which may fail at once.
 * A foreign key's query passes the snapshot it reads at (`foreign-keys.ts`).
 */
export function startStatement(run: Run, xact: Xact, statement: Statement, snapshot = run.snapshotFor(xact)): PendingStatement | DbError {
  // A value an int column cannot hold fails when PostgreSQL binds the parameters, before the statement runs.
  if (statement.kind === 'insert' || statement.kind === 'update') {
    const error = parameterError(run.table(statement.table).schema, statement);
    if (error) return error;
  }
  let candidates: RowChain[] = [];
  if (statement.kind === 'select' || statement.kind === 'update' || statement.kind === 'delete') {
    const table = run.table(statement.table);
    const bitmap = statement.kind !== 'select' && bitmapHeapScan(table, statement.where);
    const visible: { chain: RowChain; data: Row; line: number }[] = [];
    for (const chain of table.rows) {
      const v = visibleVersion(chain, xact, snapshot);
      if (v && matches(statement.where, v.data)) visible.push({ chain, data: v.data, line: bitmap ? v.root : v.line });
    }
    // A select returns rows in its ORDER BY (then the primary key); an UPDATE or DELETE meets them in heap order.
    if (visible.length > 1) {
      if (statement.kind === 'select') sortRows(visible, table.schema.primaryKey, statement.orderBy);
      else visible.sort(inHeapOrder);
    }
    candidates = visible.map(chainOf);
    if (xact.observations) xact.observations.predicates.push({ table: table.name, where: statement.where, seen: seenVersions(table.rows, xact, snapshot) });
    if (xact.ssi) {
      const failure = serializableRead(run, xact, table, statement.where, snapshot);
      if (failure) return failure;
    }
  }
  // A doomed insert fails at its heap write (`conflictIn`), not before: ON CONFLICT DO NOTHING may skip every row without one.
  return { statement, snapshot, candidates, next: 0, out: [] };
}

/** Runs `xact`'s pending statement `p` as far as it can go: to its end (its foreign key events fired), to a wait, or to an error. */
export function runStatement(run: Run, xact: Xact, p: PendingStatement): Progress {
  if (p.foreignKeys?.firing !== true) {
    const progress = runRows(run, xact, p);
    if (progress !== 'done' || p.foreignKeys === undefined) return progress;
  }
  return fireForeignKeys(run, xact, p);
}

/** Fires the statement's queued foreign key events in order, each query as far as it goes: to its end, a wait, or an error (a violation is 23503). */
function fireForeignKeys(run: Run, xact: Xact, p: PendingStatement): Progress {
  const q = p.foreignKeys!;
  q.firing = true;
  while (q.next < q.events.length) {
    const event = q.events[q.next];
    if (q.running === null) {
      const { statement, snapshot } = eventQuery(run, xact, event);
      const started = startStatement(run, xact, statement, snapshot);
      if ('code' in started) return started;
      if (event.kind === 'cascade' && xact.isolation !== 'read-committed') started.crosscheck = xact.snapshot;
      q.running = started;
    }
    const progress = runStatement(run, xact, q.running);
    if (progress !== 'done') return progress;
    const found = q.running.out.length > 0;
    q.running = null;
    q.next += 1 + eventsSpared(event, found);
    const violation = eventOutcome(event, found);
    if (violation) return violation;
  }
  return 'done';
}

/** Runs the statement's own rows as far as they go. */
function runRows(run: Run, xact: Xact, p: PendingStatement): Progress {
  const s = p.statement;
  if (p.writing) {
    // Resume the index entries of the row written before the wait, then go on with the next row.
    const { chain, version, old } = p.writing;
    const table = run.table((s as InsertStatement | UpdateStatement).table);
    const entries = indexEntries(run, xact, p, table, chain, version, old);
    if (entries === 'blocked' || typeof entries === 'object') return entries;
    // 'retry': an upsert's speculative insertion was taken back, and the row's pre-check runs again.
    if (entries === 'done') {
      // An inserted row's foreign key checks wait for its index entries (`insertRows`); an updated row queued its events when it was written.
      if (old === undefined && table.foreignKeys.length > 0) queueForeignKeys(p, table, xact, undefined, version.data);
      p.out.push(version.data);
      p.next++;
    }
  }
  switch (s.kind) {
    case 'select':
      return s.lock ? lockRows(run, xact, p, s, lockModes[s.lock]) : readRows(xact, p, s);
    case 'update':
    case 'delete':
      return lockRows(run, xact, p, s, 'exclusive');
    case 'insert':
      return insertRows(run, xact, p, s, typeof s.onConflict === 'object' ? conflictUpdate : undefined);
    case 'advisory-lock':
      return advisoryLock(run, xact, p, s);
    default:
      throw new Error(`statement ${s.kind} cannot be pending`);
  }
}

/** The row lock of each locking read. */
const lockModes: Record<LockMode, RowLockMode> = { update: 'exclusive', 'no-key-update': 'no-key-update', share: 'share', 'key-share': 'key-share' };

function readRows(xact: Xact, p: PendingStatement, s: SelectStatement): Progress {
  const limit = Math.min(s.limit ?? Infinity, p.candidates.length);
  for (let i = 0; i < limit; i++) {
    const version = visibleVersion(p.candidates[i], xact, p.snapshot)!;
    xact.observations?.items.push({ table: s.table, chain: p.candidates[i], version });
    p.out.push(version.data);
  }
  if (s.aggregate !== undefined) p.out.splice(0, p.out.length, aggregateRow(s.aggregate, p.out));
  return 'done';
}

/** Locking reads, updates and deletes: lock each candidate in order, re-check it, then act on it. */
function lockRows(run: Run, xact: Xact, p: PendingStatement, s: SelectStatement | UpdateStatement | DeleteStatement, mode: RowLockMode): Progress {
  const table = run.table(s.table);
  const limit = s.kind === 'select' ? (s.limit ?? Infinity) : Infinity;
  while (p.next < p.candidates.length && p.out.length < limit) {
    const chain = p.candidates[p.next];
    let rowMode = mode;
    if (s.kind === 'update') {
      // PostgreSQL computes the new row and checks it (22003, 23502) before it locks the row: such an error comes without a wait.
      const old = visibleVersion(chain, xact, p.snapshot)!.data;
      const updated = updatedRow(s.table, run.table(s.table).schema, s.set, old);
      if (updated.error) return updated.error;
      // An UPDATE locks FOR NO KEY UPDATE unless it changes a key column's value (heap_update's key_intact).
      rowMode = keyChanged(run.table(s.table), old, updated.row) ? 'exclusive' : 'no-key-update';
    }
    // UPDATE and DELETE take a transaction id before they may wait (heap_update, heap_delete).
    if (s.kind !== 'select') assignXid(xact);
    // FOR KEY SHARE of a row whose committed updates kept its key locks it as it saw it, unless it had to wait for the row first (then it rechecks as the others do).
    const keyShareAsSeen = rowMode === 'key-share' && p.waitedAt !== p.next;
    if (xact.isolation !== 'read-committed') {
      // The version this snapshot sees was already replaced by a committed transaction: fail now, without waiting for the row lock
      // (FOR KEY SHARE goes on when the keys stayed: PostgreSQL locks it and the versions after it).
      const seen = visibleVersion(chain, xact, p.snapshot);
      if (seen?.xmax && seen.xmax !== xact && seen.xmax.status === 'committed' && !(keyShareAsSeen && keysKept(run.table(s.table), chain, seen, newestVersion(chain, xact)))) {
        // Unless a locker of that version still runs and conflicts: then it waits for it first, below, and fails once it is gone.
        if (!replacedVersionLocked(chain, xact, seen, rowMode)) return concurrentChange(chain, xact, s);
      }
    }
    if (!tryLock(chain, xact, rowMode) && !overtakes(run, xact, chain, rowMode)) {
      const walking = rowMode === 'key-share' && waitsOnUpdateChain(run.table(s.table), chain, xact, visibleVersion(chain, xact, p.snapshot));
      if (s.kind === 'select' && s.skipLocked && !walking) {
        // SKIP LOCKED: the row is left out, and the scan goes on (below a LIMIT, to the next row).
        p.next++;
        continue;
      }
      if (s.kind === 'select' && s.nowait && !walking) return { code: SqlState.lockNotAvailable, message: `could not obtain lock on row in relation "${s.table}"` };
      xact.wait = { kind: 'row', chain, mode: rowMode };
      // Waiting on the update chain is not waiting for the row: PostgreSQL had locked the version it saw, and returns that one.
      if (!walking) p.waitedAt = p.next;
      // A share holder upgrading its lock takes no tuple lock (see `upgrading`); nor does FOR KEY SHARE waiting on the update chain.
      const at = upgrading(chain, xact) || walking ? null : queuedVersion(visibleVersion(chain, xact, p.snapshot), newestVersion(chain, xact));
      xact.queuedAt = at;
      xact.walksFrom = s.kind === 'select' && at !== null ? at.xmax : null;
      chain.queue.push(xact);
      return 'blocked';
    }
    const seen = visibleVersion(chain, xact, p.snapshot);
    const newest = newestVersion(chain, xact);
    let target: Version | undefined = seen;
    if (newest !== seen && !(keyShareAsSeen && keysKept(run.table(s.table), chain, seen, newest))) {
      if (xact.isolation !== 'read-committed') return concurrentChange(chain, xact, s);
      // READ COMMITTED: act on the newest committed version if it still matches.
      target = newest && matches(s.where, newest.data) ? newest : undefined;
      if (!newest) releaseRow(run, chain, xact);
    }
    if (target) xact.observations?.items.push({ table: s.table, chain, version: target });
    if (target && s.kind === 'update') {
      const updated = updatedRow(s.table, run.table(s.table).schema, s.set, target.data);
      if (updated.error) return updated.error;
      const written = writeNewVersion(run, xact, p, run.table(s.table), chain, target, updated.row);
      if (written !== 'done') return written;
      p.out.push(updated.row);
    } else if (target && s.kind === 'delete') {
      // A cascaded delete under repeatable read: a row the transaction's snapshot does not see is a concurrent update (heap_delete's crosscheck).
      if (p.crosscheck !== undefined && !sees(xact, p.crosscheck, target.xmin)) return { code: SqlState.serializationFailure, message: messages.concurrentUpdate };
      if (xact.ssi && !serializableWrite(run, xact, { table: s.table, chain, heap: true, existing: true, indexes: [] })) return serializationFailure;
      target.xmax = xact;
      xact.writes.push(chain);
      if (xact.undo) xact.undo.push({ kind: 'deleted', version: target });
      if (table.referencedBy.length > 0) queueForeignKeys(p, table, xact, target, undefined);
      p.out.push(target.data);
    } else if (target) {
      p.out.push(target.data);
    }
    p.next++;
  }
  // RETURNING rows come in primary-key order, as the postgres adapter sorts them.
  if (s.kind !== 'select' && p.out.length > 1) p.out.sort(byKey(run.table(s.table).schema.primaryKey));
  return 'done';
}

/**
 * Orders candidates by the line pointer the scan meets them at: a sequential
 * scan reads every line pointer in turn (the line of the version it sees); a
 * bitmap heap scan visits the index entries' line pointers in turn and
 * follows each HOT chain from its root (`Version.root`).
 */
function inHeapOrder(a: { line: number }, b: { line: number }): number {
  return a.line - b.line;
}

/**
 * True when PostgreSQL plans the scan of an UPDATE or DELETE of a small,
 * never analysed table as a bitmap heap scan: its where clause has an
 * indexable condition (an equality, a bound, an IN list, IS NULL; not `<>`
 * or IS NOT NULL) on a column of the primary key or a unique index.
 * Otherwise a sequential scan. (A where clause that fixes a whole key with
 * equalities is an index scan, of at most one row: either order serves.)
 */
function bitmapHeapScan(table: TableState, where: Where<Row>): boolean {
  for (const columns of table.uniques) {
    for (const c of columns) {
      const condition = where[c];
      if (condition !== undefined && (!isComparison(condition) || condition.ne === undefined)) return true;
    }
  }
  return false;
}

function byKey(primaryKey: readonly string[]): (a: Row, b: Row) => number {
  return (a, b) => compareBy(primaryKey, a, b);
}

/** True when an update changes the value of a column of the primary key or a unique index. */
function keyChanged(table: TableState, before: Row, after: Row): boolean {
  for (const columns of table.uniques) for (const c of columns) if (before[c] !== after[c]) return true;
  return false;
}

/**
 * True when the row's versions after `seen` up to `newest` (committed
 * updates) kept its key, none by an UPDATE that held the row FOR UPDATE: a
 * FOR KEY SHARE lock does not conflict with them, and PostgreSQL locks
 * `seen` and the versions after it without a 40001 or a recheck, returning
 * `seen`.
 */
function keysKept(table: TableState, chain: RowChain, seen: Version | undefined, newest: Version | undefined): boolean {
  if (seen === undefined || newest === undefined || keyChanged(table, seen.data, newest.data)) return false;
  const versions = chain.versions;
  for (let i = versions.indexOf(seen) + 1; i < versions.length; i++) {
    if (versions[i].keysUpdated) return false;
    if (versions[i] === newest) return true;
  }
  return true;
}

/**
 * True when a FOR KEY SHARE of `seen` must wait for the transaction that
 * replaced it without changing its key and still runs, because that
 * transaction now holds the row in a conflicting mode (it deleted or
 * key-updated its new version, or locked it FOR UPDATE): PostgreSQL finds no
 * conflict at `seen`, walks the update chain to lock the newer versions too
 * (heap_lock_updated_tuple) and waits there whatever SKIP LOCKED or NOWAIT
 * say, without a tuple lock.
 */
function waitsOnUpdateChain(table: TableState, chain: RowChain, xact: Xact, seen: Version | undefined): boolean {
  const updater = seen?.xmax;
  if (!seen || !updater || updater === xact || updater.status !== 'active') return false;
  const versions = chain.versions;
  const next = versions[versions.indexOf(seen) + 1];
  if (next === undefined || next.xmin !== updater || next.keysUpdated || keyChanged(table, seen.data, next.data)) return false;
  const holders = conflictingHolders(chain, xact, 'key-share');
  return holders.length === 1 && holders[0] === updater;
}

/**
 * True when a transaction still running holds `seen`, which a committed
 * transaction replaced, FOR KEY SHARE (the one lock that lets an UPDATE
 * keeping the key go on) and `mode` conflicts with it (FOR UPDATE): the
 * version's xmax is a multixact with a member still running, which
 * PostgreSQL's HeapTupleSatisfiesUpdate reports as TM_BeingModified before
 * it looks at the committed updater, so heap_lock_tuple, heap_update and
 * heap_delete wait for that member (or skip the row, or fail with NOWAIT),
 * and only then find the update (40001). The holder's lock covers `seen`
 * when its snapshot does not include the updater (it locked the row before
 * the update committed, or as it saw it); a holder reading at a later
 * snapshot locked a newer version only. (A READ COMMITTED holder may have
 * locked `seen` before the update committed; the engine does not keep when,
 * and counts it out.)
 */
function replacedVersionLocked(chain: RowChain, xact: Xact, seen: Version, mode: RowLockMode): boolean {
  if (mode !== 'exclusive') return false;
  const updater = seen.xmax!;
  for (const holder of chain.shared) {
    if (holder === xact || holder.status !== 'active' || holderMode(chain, holder) !== 'key-share') continue;
    if (holder.isolation !== 'read-committed' && !sees(holder, holder.snapshot, updater)) return true;
  }
  return false;
}

/** 40001 under repeatable read: the row changed after the snapshot. Only UPDATE and DELETE say "concurrent delete" for a deleted row. */
function concurrentChange(chain: RowChain, xact: Xact, s: SelectStatement | UpdateStatement | DeleteStatement): DbError {
  const deleted = !newestVersion(chain, xact) && s.kind !== 'select';
  return { code: SqlState.serializationFailure, message: deleted ? messages.concurrentDelete : messages.concurrentUpdate };
}

/** For each row, the newest version whose creator `xact` sees at `snapshot`, and whether that version is visible (not deleted). */
export function seenVersions(rows: readonly RowChain[], xact: Xact, snapshot: number): Map<RowChain, { index: number; visible: boolean }> {
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
export function sortRows(rows: { data: Row }[], primaryKey: readonly string[], orderBy: SelectStatement['orderBy']): void {
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
