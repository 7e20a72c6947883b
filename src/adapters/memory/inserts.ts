import { constraintName, sameKey, type Row } from '../../model/schema.ts';
import { notNullError, SqlState, type DbError, type InsertStatement } from '../../model/statement.ts';
import { sees, type RowChain, type Version } from './mvcc.ts';
import { assignXid, holderMode } from './row-lock.ts';
import { messages, nextLine, type Progress, type Run, type TableState } from './run.ts';
import { serializableWrite, serializationFailure } from './serializable.ts';
import { wakeUniqueWaiters } from './savepoints.ts';
import type { OnConflict } from './upsert.ts';
import { waitFor } from './wakeups.ts';
import { queueForeignKeys } from './foreign-keys.ts';
import type { PendingStatement, Xact } from './xact.ts';

/*
 * Inserts and unique indexes: the heap insert, the index entries every new
 * row version needs (checked for uniqueness with a dirty snapshot, waiting
 * for a writer still running), and ON CONFLICT DO NOTHING's pre-check.
 */

/** A unique index check's finding: a writer still running to wait for, or a live row with the key. */
export type UniqueConflict =
  | { readonly kind: 'wait'; readonly xact: Xact; readonly version: Version; readonly by: 'xmin' | 'xmax' }
  | { readonly kind: 'violation'; readonly constraint: string; readonly columns: readonly string[]; readonly chain: RowChain; readonly version: Version };

/**
 * Inserts row by row as PostgreSQL does: `ON CONFLICT DO NOTHING` first
 * checks every unique index (waiting for an inserter still running, then
 * skipping the row), `ON CONFLICT DO UPDATE` its arbiter index
 * (`conflictUpdate`, from `upsert.ts`);
 * then the heap insert (under SERIALIZABLE, the check
 * against relation locks) and the index entries (`indexEntries`).
 */
export function insertRows(run: Run, xact: Xact, p: PendingStatement, s: InsertStatement, conflictUpdate?: OnConflict): Progress {
  const table = run.table(s.table);
  while (p.next < s.rows.length) {
    const row = s.rows[p.next] as Row;
    // PostgreSQL checks NOT NULL before ON CONFLICT looks for a conflict.
    const nullInNotNull = notNullError(s.table, table.schema, row);
    if (nullInNotNull) return nullInNotNull;
    if (s.onConflict === 'nothing') {
      const conflict = arbiterConflict(xact, p, table, row);
      if (conflict?.kind === 'wait') return waitFor(xact, conflict.xact, conflict.version, conflict.by);
      if (conflict) {
        p.next++;
        // Under repeatable read, PostgreSQL skips the row only if its snapshot sees the conflicting version itself (not an older version of that row).
        if (xact.isolation !== 'read-committed' && !sees(xact, p.snapshot, conflict.chain.versions[conflict.chain.versions.length - 1].xmin)) {
          return { code: SqlState.serializationFailure, message: messages.concurrentUpdate };
        }
        continue;
      }
    } else if (conflictUpdate !== undefined) {
      const outcome = conflictUpdate(run, xact, p, s, row);
      if (outcome === 'updated') continue;
      if (outcome !== 'insert') return outcome;
    }
    assignXid(xact);
    const line = nextLine(table);
    const version: Version = { data: row, xmin: xact, xmax: null, line, root: line };
    const chain: RowChain = { versions: [version], exclusive: null, shared: [], queue: [] };
    if (xact.ssi && !serializableWrite(run, xact, { table: s.table, chain, heap: true, existing: false, indexes: [] })) return serializationFailure;
    table.rows.push(chain);
    xact.writes.push(chain);
    if (xact.undo) xact.undo.push({ kind: 'created', chain, version });
    if (s.onConflict !== undefined && s.onConflict !== 'nothing') (p.upserted ??= []).push(version);
    const entries = indexEntries(run, xact, p, table, chain, version);
    // A speculative insertion that met its key at the arbiter index was taken back: the row's pre-check runs again.
    if (entries === 'retry') continue;
    if (entries !== 'done') return entries;
    // Its foreign key checks are queued once its index entries are made (ExecInsert), so a row taken back queues none.
    if (table.foreignKeys.length > 0) queueForeignKeys(p, table, xact, undefined, row);
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
export function arbiterConflict(xact: Xact, p: PendingStatement, table: TableState, row: Row): UniqueConflict | null {
  for (let from = p.arbiterFrom ?? 0; ; from = 0) {
    for (let i = from; i < table.uniques.length; i++) {
      const conflict = uniqueConflict(table, xact, row, undefined, undefined, [table.uniques[i]]);
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
 * An upsert's insert (a speculative insertion) that finds a conflict in its
 * arbiter index is taken back instead: 'retry' (`abandonSpeculation`).
 *
 * The version is already in the heap, so a wait here leaves it in the
 * indexes before the one waited on (`Version.indexed`), where other
 * writers' uniqueness checks find it, and the statement resumes at that
 * index (`PendingStatement.writing`).
 */
export function indexEntries(run: Run, xact: Xact, p: PendingStatement, table: TableState, chain: RowChain, version: Version, old?: Row): 'done' | 'blocked' | 'retry' | DbError {
  const row = version.data;
  if (old && !changesIndexedColumn(table, old, row)) return 'done';
  const arbiter = old === undefined ? p.arbiter : undefined;
  for (let i = version.indexed ?? 0; i < table.uniques.length; i++) {
    const columns = table.uniques[i];
    const conflict = uniqueConflict(table, xact, row, chain, old, [columns]);
    if (conflict !== null && columns === arbiter) return abandonSpeculation(run, xact, p, table, chain, version, columns);
    if (conflict?.kind === 'wait') {
      version.indexed = i;
      p.writing = { chain, version, old };
      return waitFor(xact, conflict.xact, conflict.version, conflict.by);
    }
    if (conflict) return uniqueViolation(run, xact, table, conflict.chain, conflict);
    if (xact.ssi && !serializableWrite(run, xact, { table: table.name, chain, heap: false, existing: false, indexes: [columns.join()] })) return serializationFailure;
  }
  delete version.indexed;
  p.writing = undefined;
  return 'done';
}

/**
 * The new version an UPDATE (or an upsert's update) writes of `chain` over
 * `target`, which it has locked: under SERIALIZABLE the writer check, then
 * the version (marked keys-updated when the row is held FOR UPDATE, see
 * `Version.keysUpdated`), the undo log and the index entries. An upsert
 * records it as written by the statement (`PendingStatement.upserted`).
 */
export function writeNewVersion(run: Run, xact: Xact, p: PendingStatement, table: TableState, chain: RowChain, target: Version, data: Row): 'done' | 'blocked' | DbError {
  if (xact.ssi && !serializableWrite(run, xact, { table: table.name, chain, heap: true, existing: true, indexes: [] })) return serializationFailure;
  target.xmax = xact;
  const line = nextLine(table);
  // A HOT update (no indexed column changed) joins the HOT chain of `target`: its index entries point to the chain's root.
  const version: Version = { data, xmin: xact, xmax: null, line, root: changesIndexedColumn(table, target.data, data) ? line : target.root };
  if (holderMode(chain, xact) === 'exclusive') version.keysUpdated = true;
  chain.versions.push(version);
  xact.writes.push(chain);
  if (xact.undo) xact.undo.push({ kind: 'deleted', version: target }, { kind: 'created', chain, version });
  if (p.arbiter !== undefined) (p.upserted ??= []).push(version);
  if (table.foreignKeys.length > 0 || table.referencedBy.length > 0) queueForeignKeys(p, table, xact, target, data);
  // Only a speculative insertion retries.
  return indexEntries(run, xact, p, table, chain, version, target.data) as 'done' | 'blocked' | DbError;
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
export function uniqueConflict(table: TableState, xact: Xact, row: Row, own?: RowChain, old?: Row, indexes = table.uniques): UniqueConflict | null {
  for (const columns of indexes) {
    if (old && columns.every((c) => old[c] === row[c])) continue;
    const position = table.uniques.indexOf(columns);
    for (const chain of table.rows) {
      if (chain === own) continue;
      // Every version keeps its index entry until vacuum, oldest first: each one with the key is checked with a dirty snapshot.
      for (const version of chain.versions) {
        if ((version.indexed !== undefined && version.indexed <= position) || !sameKey(columns, version.data, row)) continue;
        if (version.xmin !== xact && version.xmin.status === 'active') return { kind: 'wait', xact: version.xmin, version, by: 'xmin' };
        const deleter = version.xmax;
        if (deleter === null) return { kind: 'violation', constraint: constraintName(table.name, table.schema, columns), columns, chain, version };
        if (deleter !== xact && deleter.status === 'active') return { kind: 'wait', xact: deleter, version, by: 'xmax' };
      }
    }
  }
  return null;
}

/**
 * 23505, except under SERIALIZABLE where PostgreSQL first checks the
 * index page as a writer would, so a dangerous structure is reported as
 * 40001 rather than masked by the violation.
 */
function uniqueViolation(run: Run, xact: Xact, table: TableState, chain: RowChain, conflict: { readonly constraint: string; readonly columns: readonly string[] }): DbError {
  if (xact.ssi && !serializableWrite(run, xact, { table: table.name, chain, heap: false, existing: false, indexes: [conflict.columns.join()] })) return serializationFailure;
  return { code: SqlState.uniqueViolation, message: `duplicate key value violates unique constraint "${conflict.constraint}"` };
}

/** True when an update changes a column of some unique index, so it adds entries to every index (not a HOT update). */
export function changesIndexedColumn(table: TableState, before: Row, after: Row): boolean {
  return table.uniques.some((columns) => columns.some((c) => before[c] !== after[c]));
}

/**
 * A speculative insertion (an upsert's insert) that found the key in its
 * arbiter index when it came to make its entry there (it waited at an index
 * before, and another transaction wrote the key meanwhile): PostgreSQL
 * checks the index page for SSI, then takes the heap tuple back (a
 * "super-delete", which wakes whoever waits for it) and runs the row's
 * pre-check again.
 */
function abandonSpeculation(run: Run, xact: Xact, p: PendingStatement, table: TableState, chain: RowChain, version: Version, index: readonly string[]): 'retry' | DbError {
  if (xact.ssi && !serializableWrite(run, xact, { table: table.name, chain, heap: false, existing: false, indexes: [index.join()] })) return serializationFailure;
  chain.versions.splice(chain.versions.indexOf(version), 1);
  delete version.indexed;
  p.writing = undefined;
  p.upserted!.splice(p.upserted!.indexOf(version), 1);
  wakeUniqueWaiters(run, xact, version, 'xmin');
  return 'retry';
}
