import { foreignKeysOf, foreignKeysReferencing, type ResolvedForeignKey } from '../model/foreign-keys.ts';
import type { Row, Schema } from '../model/schema.ts';
import { conflictChanges, isComparison, type Condition, type DeleteStatement, type InsertStatement, type UpdateStatement } from '../model/statement.ts';
import type { Footprint } from './footprint.ts';
import { project, rowRegion, type Region } from './region.ts';

/**
 * What a write's foreign key triggers touch (`src/adapters/memory/foreign-keys.ts`),
 * added to the statement's own footprint. Every trigger query locks rows
 * (FOR KEY SHARE, or a cascaded DELETE), so each access is a write:
 *
 * - an insert locks the parent row each new row references (none for a
 *   null reference); an update of a child, the parent rows its new
 *   references may name (the ones its SET list gives, or else those its
 *   where-clause allows, since an update of a row the transaction inserted
 *   checks again even when the reference is unchanged);
 * - a delete of a parent, or an update of its referenced columns, locks (or
 *   deletes) the children its where-clause's referenced key allows, and a
 *   cascade goes on to their own children and their unique indexes, whole.
 *   Under NO ACTION the search for another parent row holding the old key
 *   comes first: it finds one only if the same statement gave that key to
 *   another row (the row losing it holds it in the unique index until its
 *   transaction ends), so outside serializable no other transaction's step
 *   changes its answer, and under serializable the write already touches
 *   its whole table.
 *
 * `whole`: every access is to the whole table (SERIALIZABLE); `coarse`:
 * only a region pinned by the primary key is told apart.
 */
export function foreignKeyFootprint(schema: Schema, statement: InsertStatement | UpdateStatement | DeleteStatement, into: Footprint, mode: 'semantic' | 'coarse' | 'whole'): void {
  const table = statement.table;
  if (statement.kind === 'insert') {
    const upsert = typeof statement.onConflict === 'object' ? statement.onConflict : undefined;
    for (const row of statement.rows as readonly Row[]) {
      for (const fk of foreignKeysOf(schema, table)) {
        if (fk.columns.some((c) => row[c] === null)) continue;
        touch(schema, into, fk.parent, renamed(row, fk.columns, fk.parentColumns), mode);
      }
      // DO UPDATE fires an update's triggers on the row holding the proposed key.
      if (upsert !== undefined) writeTriggers(schema, table, project(rowRegion(row), upsert.columns), conflictChanges(upsert, row) as Record<string, unknown>, into, mode);
    }
    return;
  }
  writeTriggers(schema, table, statement.where as Region, statement.kind === 'update' ? (statement.set as Record<string, unknown>) : undefined, into, mode);
}

/** The triggers of an update (`set`) or a delete (no `set`) of the rows of `table` in `where`. */
function writeTriggers(schema: Schema, table: string, where: Region, set: Record<string, unknown> | undefined, into: Footprint, mode: 'semantic' | 'coarse' | 'whole'): void {
  if (set !== undefined) {
    for (const fk of foreignKeysOf(schema, table)) {
      const given = fk.columns.every((c) => Object.hasOwn(set, c) && (typeof set[c] !== 'object' || set[c] === null));
      touch(schema, into, fk.parent, renamed((given ? set : where) as Region, fk.columns, fk.parentColumns), mode);
    }
  }
  for (const fk of foreignKeysReferencing(schema, table)) {
    if (set !== undefined && !fk.parentColumns.some((c) => Object.hasOwn(set, c))) continue;
    touch(schema, into, fk.child, renamed(where, fk.parentColumns, fk.columns), mode);
    if (set === undefined && fk.onDelete === 'cascade') cascade(schema, fk, into, new Set());
  }
}

/** A cascaded delete of `fk.child`'s rows: its unique indexes, and what its own foreign keys' triggers touch, whole. */
function cascade(schema: Schema, fk: ResolvedForeignKey, into: Footprint, seen: Set<string>): void {
  if (seen.has(fk.child)) return;
  seen.add(fk.child);
  const child = schema[fk.child];
  for (const columns of [child.primaryKey, ...(child.unique ?? [])]) into.touch(`${fk.child}#${columns.join(',')}`, null, true);
  for (const next of foreignKeysReferencing(schema, fk.child)) {
    into.touch(next.child, null, true);
    if (next.onDelete === 'cascade') cascade(schema, next, into, seen);
  }
}

function touch(schema: Schema, into: Footprint, table: string, region: Region, mode: 'semantic' | 'coarse' | 'whole'): void {
  if (mode === 'whole') into.touch(table, null, true);
  else if (mode === 'coarse') into.touch(table, schema[table].primaryKey.every((c) => Object.hasOwn(region, c) && !isComparison(region[c])) ? region : null, true);
  else into.touch(table, region, true);
}

/** The conditions of `region` on `from[i]`, as conditions on `to[i]` (the other end of the foreign key). */
function renamed(region: Region, from: readonly string[], to: readonly string[]): Region {
  const out: Record<string, Condition<unknown>> = {};
  for (let i = 0; i < from.length; i++) if (Object.hasOwn(region, from[i])) out[to[i]] = region[from[i]] as Condition<unknown>;
  return out as Region;
}
