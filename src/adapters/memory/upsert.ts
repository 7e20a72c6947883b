import { indexOn, type Row } from '../../model/schema.ts';
import { conflictChanges, matches, SqlState, updatedRow, type Changes, type ConflictUpdate, type DbError, type InsertStatement } from '../../model/statement.ts';
import { uniqueConflict, writeNewVersion } from './inserts.ts';
import { sees, type RowChain, type Version } from './mvcc.ts';
import { holderMode, holds, tryLock, upgrading, type RowLockMode } from './row-lock.ts';
import { messages, type Run, type TableState } from './run.ts';
import { overtakes, releaseRow, waitFor } from './wakeups.ts';
import type { PendingStatement, Xact } from './xact.ts';

/*
 * INSERT ... ON CONFLICT (columns) DO UPDATE, row by row as PostgreSQL's
 * ExecInsert and ExecOnConflictUpdate run it:
 *
 * - the pre-check looks for the row's key in the arbiter index only (the
 *   unique index on `columns`) with a dirty snapshot: a writer of the key
 *   still running is waited for (its transaction, as a unique-index check
 *   waits), then the check starts over; no conflict, and the row is
 *   inserted, checking the other unique indexes as a plain insert does;
 * - a conflicting live version is locked, FOR UPDATE when the SET list
 *   names a key column, else FOR NO KEY UPDATE (ExecUpdateLockMode), waiting
 *   in the row's queue like an UPDATE, whether or not the statement's
 *   snapshot sees the version; a version created by this very statement is
 *   21000 instead ("cannot affect row a second time");
 * - once locked, a version replaced or deleted meanwhile by a committed
 *   transaction (TM_Updated, TM_Deleted) is 40001 under repeatable read and
 *   serializable; under read committed the pre-check runs again (keeping the
 *   lock if it finds the same row, which it then updates in its newest
 *   version, letting it go otherwise);
 * - under repeatable read and serializable a locked version the snapshot
 *   does not see (committed after it) is 40001 "concurrent update"
 *   (ExecCheckTupleVisible); the WHERE clause is checked on the existing
 *   row (a row it rejects stays locked and is not returned); then the new
 *   row is computed (22003, 23502) and written as an UPDATE writes it (SSI's
 *   writer check, index entries when a key changes).
 *
 * The pre-check takes no SIREAD lock and reads nothing for SSI (PostgreSQL's
 * dirty snapshot is not an MVCC snapshot); the write is an UPDATE's.
 */

/** Where an upsert stands on one proposed row: insert it, it is done (updated or left), or the statement waits or fails. */
export type ConflictOutcome = 'insert' | 'updated' | 'blocked' | DbError;

/** `conflictUpdate`'s signature, which `insertRows` takes for an upsert. */
export type OnConflict = (run: Run, xact: Xact, p: PendingStatement, s: InsertStatement, row: Row) => ConflictOutcome;

/** The row lock an upsert's update takes: FOR UPDATE when its SET list names a column of a unique index (whatever the value), else FOR NO KEY UPDATE. */
function conflictLockMode(table: TableState, spec: ConflictUpdate): RowLockMode {
  for (const columns of table.uniques) for (const c of columns) if (Object.hasOwn(spec.update, c)) return 'exclusive';
  return 'no-key-update';
}

/** The unique index on the conflict target's columns (in any order), which `checkStatement` guarantees exists. */
function arbiterIndex(table: TableState, spec: ConflictUpdate): readonly string[] {
  const index = indexOn(table.uniques, spec.columns);
  if (index === undefined) throw new Error(`no unique index on (${spec.columns.join(', ')}) of ${table.name}`);
  return index;
}

/**
 * Runs the ON CONFLICT part of the proposed `row` (the statement's row at
 * `p.next`): 'insert' when no row has its key, 'updated' once the
 * conflicting row is updated or left by the WHERE clause (`p.next` moves on,
 * an updated row goes to the returned rows).
 */
export const conflictUpdate: OnConflict = (run, xact, p, s, row) => {
  const spec = s.onConflict as ConflictUpdate;
  const table = run.table(s.table);
  const arbiter = arbiterIndex(table, spec);
  // The index whose entry a speculative insertion of the row checks without waiting or failing (`indexEntries`).
  p.arbiter = arbiter;
  const mode = conflictLockMode(table, spec);
  let locking = p.locking;
  p.locking = undefined;
  for (;;) {
    if (locking === undefined) {
      const conflict = uniqueConflict(table, xact, row, undefined, undefined, [arbiter]);
      if (conflict === null) return 'insert';
      if (conflict.kind === 'wait') return waitFor(xact, conflict.xact, conflict.version, conflict.by);
      const version = conflict.version;
      if (p.upserted?.includes(version)) return secondTime;
      const before = heldMode(conflict.chain, xact);
      if (!tryLock(conflict.chain, xact, mode) && !overtakes(run, xact, conflict.chain, mode)) return queue(xact, p, { chain: conflict.chain, version, before }, mode);
      locking = { chain: conflict.chain, version, before };
    }
    const { chain, version, before } = locking;
    if (version.xmax === null) break;
    // TM_Updated or TM_Deleted: the version was replaced or deleted while the statement waited for its lock.
    if (xact.isolation !== 'read-committed') {
      const deleted = chain.versions[chain.versions.length - 1].xmax !== null;
      return { code: SqlState.serializationFailure, message: deleted ? messages.concurrentDelete : messages.concurrentUpdate };
    }
    const again = uniqueConflict(table, xact, row, undefined, undefined, [arbiter]);
    if (again?.kind === 'violation' && again.chain === chain) {
      locking = { chain, version: again.version, before };
      if (p.upserted?.includes(again.version)) return secondTime;
      continue;
    }
    // The key is gone from this row (deleted, or changed): the lock taken for it goes, and the pre-check's new finding counts.
    letGo(run, xact, chain, before);
    locking = undefined;
  }
  const { chain, version } = locking;
  if (xact.isolation !== 'read-committed' && !sees(xact, p.snapshot, version.xmin)) {
    return { code: SqlState.serializationFailure, message: messages.concurrentUpdate };
  }
  xact.observations?.items.push({ table: s.table, chain, version });
  if (spec.where !== undefined && !matches(spec.where, version.data)) {
    p.next++;
    return 'updated';
  }
  return writeUpdate(run, xact, p, table, chain, version, conflictChanges(spec, row));
};

/** 21000: a second proposed row of the statement with the key of a row the statement inserted or updated. */
const secondTime: DbError = { code: SqlState.cardinalityViolation, message: 'ON CONFLICT DO UPDATE command cannot affect row a second time' };

/** Writes the new version of the locked row as an UPDATE does (heap_update under the lock the upsert holds). */
function writeUpdate(run: Run, xact: Xact, p: PendingStatement, table: TableState, chain: RowChain, target: Version, set: Changes<Row>): ConflictOutcome {
  const updated = updatedRow(table.name, table.schema, set, target.data);
  if (updated.error) return updated.error;
  const written = writeNewVersion(run, xact, p, table, chain, target, updated.row);
  if (written !== 'done') return written;
  p.out.push(updated.row);
  p.next++;
  return 'updated';
}

/** The lock mode `xact` already holds on `chain`, or null. */
function heldMode(chain: RowChain, xact: Xact): RowLockMode | null {
  return chain.exclusive === xact || chain.shared.includes(xact) ? holderMode(chain, xact) : null;
}

/** Waits for the row lock of the conflicting version, queued at that version like an UPDATE (no walk of the update chain). */
function queue(xact: Xact, p: PendingStatement, locking: NonNullable<PendingStatement['locking']>, mode: RowLockMode): 'blocked' {
  xact.wait = { kind: 'row', chain: locking.chain, mode };
  xact.queuedAt = upgrading(locking.chain, xact) ? null : locking.version;
  xact.walksFrom = null;
  locking.chain.queue.push(xact);
  p.locking = locking;
  return 'blocked';
}

/** Gives back the lock taken on `chain` for a key it no longer has: back to the mode held before, or none. */
function letGo(run: Run, xact: Xact, chain: RowChain, before: RowLockMode | null): void {
  if (before !== null && holds(chain, xact, before) && holderMode(chain, xact) === before) return;
  releaseRow(run, chain, xact, before);
  if (before === null) xact.locks.splice(xact.locks.indexOf(chain), 1);
}
