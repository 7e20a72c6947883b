import { childWhere, parentWhere, sameColumns, type ResolvedForeignKey } from '../../model/foreign-keys.ts';
import type { Row } from '../../model/schema.ts';
import { SqlState, type DbError, type Statement } from '../../model/statement.ts';
import type { Version } from './mvcc.ts';
import type { Run, TableState } from './run.ts';
import type { PendingStatement, Xact } from './xact.ts';

/*
 * Foreign keys as PostgreSQL enforces them: with AFTER ROW triggers
 * (ri_triggers.c) whose events a statement queues for each row it writes
 * and fires at its end, in row order, for each row the parent-side actions
 * (triggers `RI_ConstraintTrigger_a_*`) before the child-side checks
 * (`RI_ConstraintTrigger_c_*`). Each event runs a query of its own, which
 * locks and waits as any statement does (`runStatement`), so its waits and
 * deadlocks are the engine's own:
 *
 * - a child row inserted, or updated with new referencing values (or
 *   updated at all when this transaction inserted it), none of them null:
 *   `SELECT 1 FROM parent WHERE key = $1 FOR KEY SHARE` (RI_FKey_check),
 *   with a new snapshot under read committed and the transaction's snapshot
 *   otherwise; no row is 23503;
 * - a parent row deleted, or its referenced key changed: under NO ACTION
 *   and RESTRICT, and for a key change under CASCADE (which is ON DELETE
 *   only), `SELECT 1 FROM child WHERE fk = $1 LIMIT 1 FOR KEY SHARE`
 *   (ri_restrict); a row is 23503. Under NO ACTION (every key change, ON
 *   UPDATE being NO ACTION, and a delete unless RESTRICT or CASCADE) first
 *   `SELECT 1 FROM parent WHERE key = $old FOR KEY SHARE`
 *   (ri_Check_Pk_Match): another parent row holding the old key now
 *   answers for the children, and no restrict query runs. A deleted row under CASCADE: `DELETE
 *   FROM child WHERE fk = $1` (RI_FKey_cascade_del), which fires the
 *   child's own events at its end. All three read with the latest snapshot at
 *   every level (detectNewRows); under repeatable read and serializable the
 *   cascade also checks each row it deletes against the transaction's
 *   snapshot (the crosscheck snapshot): a row it cannot see there is 40001.
 */

/** One queued trigger event: the query to run and what its answer means. */
export interface ForeignKeyEvent {
  readonly kind: 'check' | 'parent-match' | 'restrict' | 'cascade';
  readonly fk: ResolvedForeignKey;
  /** The referenced key (check: on the parent; parent-match: the old one) or the referencing values (restrict, cascade: on the child). */
  readonly where: Row;
}

/** A statement's trigger events: those fired so far (`next`), and the query of the one firing (it may wait). */
export interface ForeignKeyEvents {
  readonly events: ForeignKeyEvent[];
  next: number;
  /** Set once the statement's own rows are done and its events fire. */
  firing: boolean;
  running: PendingStatement | null;
}

/**
 * Queues the events of one row a statement wrote: `old` the version it
 * replaced or deleted (none for an insert), `row` the new row (none for a
 * delete).
 */
export function queueForeignKeys(p: PendingStatement, table: TableState, xact: Xact, old: Version | undefined, row: Row | undefined): void {
  if (old !== undefined) {
    for (const fk of table.referencedBy) {
      if (row !== undefined && sameColumns(fk.parentColumns, old.data, row)) continue;
      const where = childWhere(fk, old.data);
      if (where === null) continue;
      const kind = row === undefined && fk.onDelete === 'cascade' ? 'cascade' : 'restrict';
      if (kind === 'restrict' && (row !== undefined || fk.onDelete === 'no-action')) queue(p, { kind: 'parent-match', fk, where: oldKey(fk, old.data) });
      queue(p, { kind, fk, where });
    }
  }
  if (row !== undefined) {
    for (const fk of table.foreignKeys) {
      // RI_FKey_fk_upd_check_required: unchanged referencing values need no check, unless this transaction inserted the row.
      if (old !== undefined && old.xmin !== xact && sameColumns(fk.columns, old.data, row)) continue;
      const where = parentWhere(fk, row);
      if (where !== null) queue(p, { kind: 'check', fk, where });
    }
  }
}

/** The referenced key `parent` held: the where-clause of the query for another parent row holding it. */
function oldKey(fk: ResolvedForeignKey, parent: Row): Row {
  const key: Row = {};
  for (const c of fk.parentColumns) key[c] = parent[c];
  return key;
}

/** Events to pass over after `event`'s query found a row (`found`) or not: a parent-match that found one spares its restrict query. */
export function eventsSpared(event: ForeignKeyEvent, found: boolean): number {
  return event.kind === 'parent-match' && found ? 1 : 0;
}

function queue(p: PendingStatement, event: ForeignKeyEvent): void {
  (p.foreignKeys ??= { events: [], next: 0, firing: false, running: null }).events.push(event);
}

/** The query of a queued event and the snapshot it reads at: a new one, except the check under repeatable read and serializable (the transaction's). */
export function eventQuery(run: Run, xact: Xact, event: ForeignKeyEvent): { readonly statement: Statement; readonly snapshot: number } {
  return { statement: queryOf(event), snapshot: event.kind === 'check' ? run.snapshotFor(xact) : run.commitSeq };
}

/** What an event's query finding a row (`found`) or not means: a violation (23503), or null. */
export function eventOutcome(event: ForeignKeyEvent, found: boolean): DbError | null {
  if (event.kind === 'check' && !found) return violation(`insert or update on table "${event.fk.child}" violates foreign key constraint "${event.fk.name}"`);
  if (event.kind === 'restrict' && found) return violation(`update or delete on table "${event.fk.parent}" violates foreign key constraint "${event.fk.name}" on table "${event.fk.child}"`);
  return null;
}

function queryOf(event: ForeignKeyEvent): Statement {
  switch (event.kind) {
    case 'check':
    case 'parent-match':
      return { kind: 'select', table: event.fk.parent, where: event.where, lock: 'key-share' };
    case 'restrict':
      return { kind: 'select', table: event.fk.child, where: event.where, lock: 'key-share', limit: 1 };
    case 'cascade':
      return { kind: 'delete', table: event.fk.child, where: event.where };
  }
}

function violation(message: string): DbError {
  return { code: SqlState.foreignKeyViolation, message };
}
