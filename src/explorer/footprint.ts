import type { IsolationLevel } from '../adapters/backend.ts';
import type { Schema } from '../model/schema.ts';
import { isComparison, type Statement } from '../model/statement.ts';

/** How a step uses one table: whole-table reads and writes (predicate scans), and reads and writes of rows by primary key. */
interface TableAccess {
  wholeRead: boolean;
  wholeWrite: boolean;
  readonly rowsRead: Set<string>;
  readonly rowsWrite: Set<string>;
}

/**
 * The pseudo-table a snapshot reads and a COMMIT writes: the set of committed
 * transactions. A REPEATABLE READ transaction's first statement takes its
 * snapshot, which every later statement of the attempt reads through, so it
 * does not commute with any COMMIT.
 */
export const commitLog = '$commits';

/**
 * The pseudo-table every step that leaves a statement waiting writes, and
 * every COMMIT and ROLLBACK (which wake waiters that may wait again): the
 * order in which transactions started waiting picks the deadlock victim when a
 * woken transaction closes a cycle.
 */
export const waitQueue = '$waits';

/**
 * What one step reads, writes or locks, computed outside the engine from the
 * statements involved. Locking reads, writes and waits count as writes (they
 * change lock queues); a statement whose where-condition does not pin the
 * whole primary key with equalities reads or writes the whole table (a
 * predicate). Two steps are independent when neither writes what the other
 * touches: different rows and no overlapping predicate, or both plain reads.
 *
 * ```ts
 * const a = statementFootprint(schema, { kind: 'select', table: 'accounts', where: { id: 1 } });
 * const b = statementFootprint(schema, { kind: 'select', table: 'accounts', where: { id: 1 } });
 * a.conflicts(b); // false: two plain reads
 * ```
 */
export class Footprint {
  private readonly tables = new Map<string, TableAccess>();

  private access(table: string): TableAccess {
    let a = this.tables.get(table);
    if (!a) this.tables.set(table, (a = { wholeRead: false, wholeWrite: false, rowsRead: new Set(), rowsWrite: new Set() }));
    return a;
  }

  /** Adds a read (`write` false) or write of one row (`key`) or of the whole table (`key` null). */
  touch(table: string, key: string | null, write: boolean): void {
    const a = this.access(table);
    if (key === null) {
      if (write) a.wholeWrite = true;
      else a.wholeRead = true;
    } else (write ? a.rowsWrite : a.rowsRead).add(key);
  }

  /** Adds everything `other` touches; with `asWrites`, every access becomes a write (a COMMIT or ROLLBACK of what a transaction touched). */
  add(other: Footprint, asWrites = false): void {
    for (const [table, o] of other.tables) {
      const a = this.access(table);
      if (o.wholeWrite || (asWrites && o.wholeRead)) a.wholeWrite = true;
      else if (o.wholeRead) a.wholeRead = true;
      for (const k of o.rowsWrite) a.rowsWrite.add(k);
      for (const k of o.rowsRead) (asWrites ? a.rowsWrite : a.rowsRead).add(k);
    }
  }

  /** True when the two steps may not commute: one writes something the other reads or writes. */
  conflicts(other: Footprint): boolean {
    for (const [table, a] of this.tables) {
      const b = other.tables.get(table);
      if (b && tablesConflict(a, b)) return true;
    }
    return false;
  }

  /** True when nothing is touched. */
  get empty(): boolean {
    return this.tables.size === 0;
  }
}

function touchesAny(a: TableAccess): boolean {
  return a.wholeRead || a.wholeWrite || a.rowsRead.size > 0 || a.rowsWrite.size > 0;
}

function writesAny(a: TableAccess): boolean {
  return a.wholeWrite || a.rowsWrite.size > 0;
}

function tablesConflict(a: TableAccess, b: TableAccess): boolean {
  if (a.wholeWrite && touchesAny(b)) return true;
  if (b.wholeWrite && touchesAny(a)) return true;
  if (a.wholeRead && writesAny(b)) return true;
  if (b.wholeRead && writesAny(a)) return true;
  for (const k of a.rowsWrite) if (b.rowsRead.has(k) || b.rowsWrite.has(k)) return true;
  for (const k of b.rowsWrite) if (a.rowsRead.has(k)) return true;
  return false;
}

/** The primary key of the row a where-condition pins with equalities on every key column, or null (a predicate). */
function pinnedKey(pk: readonly string[], where: Record<string, unknown>): string | null {
  const values: unknown[] = [];
  for (const c of pk) {
    const v = where[c];
    if (v === undefined || isComparison(v as never)) return null;
    values.push(v);
  }
  return JSON.stringify(values);
}

/**
 * What a statement (not COMMIT or ROLLBACK) touches by itself: the row its
 * where-condition pins, or its whole table; each inserted row's key (the whole
 * table when the table has unique indexes besides its primary key). Plain
 * selects read; everything else writes. With `wholeTables`, every access is
 * to the whole table (SERIALIZABLE: SSI's predicate locks cover pages and
 * relations, not only rows).
 */
export function statementFootprint(schema: Schema, statement: Statement, into = new Footprint(), wholeTables = false): Footprint {
  switch (statement.kind) {
    case 'select':
    case 'update':
    case 'delete': {
      const table = schema[statement.table];
      const write = statement.kind !== 'select' || statement.lock !== undefined;
      into.touch(statement.table, wholeTables ? null : pinnedKey(table.primaryKey, statement.where as Record<string, unknown>), write);
      return into;
    }
    case 'insert': {
      const table = schema[statement.table];
      if (wholeTables || table.unique?.length) into.touch(statement.table, null, true);
      else for (const row of statement.rows) into.touch(statement.table, pinnedKey(table.primaryKey, row), true);
      return into;
    }
    case 'commit':
    case 'rollback':
      return into;
  }
}

/**
 * Tracks, over one run, what each transaction's open attempt touched, so a
 * step's footprint can include the effects of COMMIT and ROLLBACK (every row
 * and predicate of the finishing attempt, as writes: it releases locks, makes
 * versions visible, and under SSI may doom a reader) and of snapshots.
 *
 * Under SERIALIZABLE every statement reads, and every COMMIT and ROLLBACK
 * writes, the commit log: a COMMIT can doom another transaction's next
 * statement whatever it touches, and a ROLLBACK can undo a dangerous
 * structure; and accesses are to whole tables.
 */
export class FootprintTracker {
  private readonly touched = new Map<number, Footprint>();
  private readonly open = new Set<number>();
  private readonly pending = new Map<number, Statement>();

  constructor(
    private readonly schema: Schema,
    private readonly isolation: IsolationLevel,
  ) {}

  /** The footprint of `tx` submitting `statement`, added to `into`. */
  submit(tx: number, statement: Statement, into: Footprint): void {
    this.pending.set(tx, statement);
    if (statement.kind === 'commit' || statement.kind === 'rollback') {
      this.finish(tx, into);
      if (statement.kind === 'commit' || this.serializable) into.touch(commitLog, null, true);
      return;
    }
    if (!this.open.has(tx)) {
      this.open.add(tx);
      if (this.isolation !== 'read-committed') into.touch(commitLog, null, false);
    }
    if (this.serializable) into.touch(commitLog, null, false);
    const own = statementFootprint(this.schema, statement, undefined, this.serializable);
    this.attempt(tx).add(own);
    into.add(own);
  }

  /** A statement of `tx` submitted earlier (blocked) completed or changed state during another transaction's step. */
  released(tx: number, failed: boolean, into: Footprint): void {
    const statement = this.pending.get(tx);
    if (statement && statement.kind !== 'commit' && statement.kind !== 'rollback') {
      const own = statementFootprint(this.schema, statement, undefined, this.serializable);
      this.attempt(tx).add(own);
      into.add(own);
    }
    if (failed) this.failed(tx, into);
  }

  /** The stepped statement had to wait for a lock. */
  waited(into: Footprint): void {
    into.touch(waitQueue, null, true);
  }

  private get serializable(): boolean {
    return this.isolation === 'serializable';
  }

  /** A statement of `tx` failed: the engine may have aborted its attempt and released its locks. */
  failed(tx: number, into: Footprint): void {
    const t = this.touched.get(tx);
    if (t) into.add(t, true);
  }

  /** `tx`'s attempt ends (COMMIT, ROLLBACK, or the runner abandoning it after an unhandled error). */
  finish(tx: number, into: Footprint): void {
    const t = this.touched.get(tx);
    if (t) into.add(t, true);
    into.touch(waitQueue, null, true);
    if (this.serializable) into.touch(commitLog, null, true);
    this.touched.delete(tx);
    this.open.delete(tx);
  }

  private attempt(tx: number): Footprint {
    let f = this.touched.get(tx);
    if (!f) this.touched.set(tx, (f = new Footprint()));
    return f;
  }
}
