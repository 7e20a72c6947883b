import type { IsolationLevel } from '../adapters/backend.ts';
import type { Row, Schema } from '../model/schema.ts';
import { conflictChanges, type ConflictUpdate, type Statement } from '../model/statement.ts';
import { foreignKeyFootprint } from './foreign-key-footprint.ts';
import { intersects, pinnedKey, project, rowRegion, updatedRegion, type Region } from './region.ts';

/** The whole table. */
const everything: Region = Object.freeze({});

/** How a step uses one table: the regions it reads and the regions it writes (or locks). */
interface TableAccess {
  readonly reads: Map<string, Region>;
  readonly writes: Map<string, Region>;
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
 * every COMMIT and ROLLBACK of an attempt that wrote or locked something
 * (it may wake waiters, which may wait again): the order in which transactions started waiting
 * picks the deadlock victim when a woken transaction closes a cycle.
 */
export const waitQueue = '$waits';

/** The pseudo-table of advisory locks, one region per key. */
const advisoryLocks = '$advisory';

/**
 * The pseudo-table of a table's heap order: every insert and update writes
 * it (its new row version takes the heap's next line pointer), so two of
 * them on one table do not commute, since a later UPDATE or DELETE of
 * several rows locks them in heap order; unless no statement of the
 * workload can tell (`heap-orders.ts`).
 */
export function heapOrder(table: string): string {
  return `${heapPrefix}${table}`;
}

const heapPrefix = '$heap:';

/**
 * The committed rows of a table, as a plain read sees them: only a COMMIT
 * writes them (the regions its attempt wrote); uncommitted versions and
 * locks, in the table itself, are seen by no plain read.
 */
export function committedTable(table: string): string {
  return `${table}@committed`;
}

/** The pseudo-table of a unique index's entries (primary key included): `accounts#id`. */
export function indexTable(table: string, columns: readonly string[]): string {
  return `${table}#${columns.join(',')}`;
}

/**
 * How precisely footprints follow the database's semantics. `semantic` (the
 * default) is what exhaustive search uses; `coarse` is the reduction of
 * lockstep 0.1 (every predicate touches its whole table, a COMMIT writes what
 * its attempt read, COMMITs are ordered among themselves and with every
 * wait), kept to measure the difference (`bench/search.ts`) and to check
 * both against brute force.
 */
export type Independence = 'semantic' | 'coarse';

/**
 * What one step reads, writes or locks, computed outside the engine from the
 * statements involved: per table, regions of rows given by where-clauses
 * (`Region`). Locking reads, writes and waits count as writes (they change
 * lock queues). Two steps are independent when neither writes a region that
 * can share a row with a region the other touches: two where-clauses that
 * cannot match a common row (`id = 1` and `id = 2`, `balance >= 300` and
 * `balance < 100`) do not conflict; plain reads never conflict with each
 * other. A plain read reads a table's committed rows (`committedTable`),
 * which only a COMMIT writes: it commutes with uncommitted writes and locks.
 *
 * COMMITs "bump" the commit log (`bumpsCommits`): they commute with each other
 * (the order of two commits with disjoint writes is seen by no one) but not
 * with a snapshot, which reads it (`readsCommits`).
 *
 * ```ts
 * const a = statementFootprint(schema, { kind: 'select', table: 'accounts', where: { id: 1 } });
 * const b = statementFootprint(schema, { kind: 'select', table: 'accounts', where: { id: 2 }, lock: 'update' });
 * const c = statementFootprint(schema, { kind: 'update', table: 'accounts', where: { id: 2 }, set: { balance: 0 } });
 * a.conflicts(c); // false: a plain read does not see an uncommitted update
 * b.conflicts(c); // true: the same row's lock
 * ```
 */
export class Footprint {
  private readonly tables = new Map<string, TableAccess>();
  /** A COMMIT: the set of committed transactions grows. */
  bumpsCommits = false;
  /** A snapshot is taken: what is committed now is read. */
  readsCommits = false;

  private access(table: string): TableAccess {
    let a = this.tables.get(table);
    if (!a) this.tables.set(table, (a = { reads: new Map(), writes: new Map() }));
    return a;
  }

  /** Adds a read (`write` false) or write of the rows of `table` in `region` (`null` or `{}`: the whole table). */
  touch(table: string, region: Region | null, write: boolean): void {
    const r = region ?? everything;
    const a = this.access(table);
    const key = regionKey(r);
    if (write) {
      a.writes.set(key, r);
      a.reads.delete(key);
    } else if (!a.writes.has(key)) a.reads.set(key, r);
  }

  /**
   * Adds everything `other` touches. `as`: `writes` makes every access a write
   * (a COMMIT or ROLLBACK of what a transaction touched, reads included, as
   * SERIALIZABLE needs); `writes-only` takes only `other`'s writes (a
   * ROLLBACK under the other levels: it undoes and unlocks what its attempt
   * wrote and locked, which no plain read saw; a plain read left nothing
   * behind); `commit` also writes the committed rows of every table region
   * written (a COMMIT makes them visible to plain reads).
   */
  add(other: Footprint, as: 'same' | 'writes' | 'writes-only' | 'commit' = 'same'): void {
    for (const [table, o] of other.tables) {
      // An attempt's end neither takes nor gives back line pointers: the heap order stays as its statements left it.
      if (as !== 'same' && table.startsWith(heapPrefix)) continue;
      const a = this.access(table);
      for (const [k, r] of o.writes) {
        a.writes.set(k, r);
        a.reads.delete(k);
      }
      if (as === 'commit' && o.writes.size > 0 && !table.startsWith('$') && !table.includes('#') && !table.endsWith('@committed')) {
        const c = this.access(committedTable(table));
        for (const [k, r] of o.writes) {
          c.writes.set(k, r);
          c.reads.delete(k);
        }
      }
      if (as === 'writes-only' || as === 'commit') continue;
      for (const [k, r] of o.reads) {
        if (as === 'writes') {
          a.writes.set(k, r);
          a.reads.delete(k);
        } else if (!a.writes.has(k)) a.reads.set(k, r);
      }
    }
    if (as === 'same') {
      this.bumpsCommits ||= other.bumpsCommits;
      this.readsCommits ||= other.readsCommits;
    }
  }

  /**
   * True when the two steps may not commute: one writes something the other
   * reads or writes. `unordered`: heap-order pseudo-tables (`heapOrder`)
   * whose order no statement reads (`heap-orders.ts`), left out.
   */
  conflicts(other: Footprint, unordered?: ReadonlySet<string>): boolean {
    if ((this.bumpsCommits && other.readsCommits) || (this.readsCommits && other.bumpsCommits)) return true;
    const [small, large] = this.tables.size <= other.tables.size ? [this, other] : [other, this];
    for (const [table, a] of small.tables) {
      if (unordered?.has(table)) continue;
      const b = large.tables.get(table);
      if (b && tablesConflict(a, b)) return true;
    }
    return false;
  }

  /** True when something is written or locked. */
  get writes(): boolean {
    for (const a of this.tables.values()) if (a.writes.size > 0) return true;
    return false;
  }

  /** A name of what the footprint touches: equal names, equal footprints. */
  key(): string {
    let key = `${this.bumpsCommits ? 'b' : ''}${this.readsCommits ? 'r' : ''}`;
    for (const [table, a] of this.tables) key += `|${table}:w${[...a.writes.keys()].join('/')}:r${[...a.reads.keys()].join('/')}`;
    return key;
  }

  /** True when nothing is touched. */
  get empty(): boolean {
    return this.tables.size === 0 && !this.bumpsCommits && !this.readsCommits;
  }
}

function tablesConflict(a: TableAccess, b: TableAccess): boolean {
  for (const r of a.writes.values()) {
    for (const s of b.writes.values()) if (intersects(r, s)) return true;
    for (const s of b.reads.values()) if (intersects(r, s)) return true;
  }
  for (const r of b.writes.values()) for (const s of a.reads.values()) if (intersects(r, s)) return true;
  return false;
}

function regionKey(r: Region): string {
  let key = '';
  for (const c in r) key += `${c}:${JSON.stringify(r[c])};`;
  return key;
}

/**
 * What an upsert's DO UPDATE may touch beyond its proposed row: the row
 * holding the proposed key in the conflict target (locked, then updated,
 * whatever its other columns) and the rows it may turn into, with their
 * index entries, as an UPDATE by that key would.
 */
function conflictUpdateFootprint(table: Schema[string], name: string, spec: ConflictUpdate, row: Row, into: Footprint): void {
  const where = project(rowRegion(row), spec.columns);
  const after = updatedRegion(where, conflictChanges(spec, row));
  into.touch(name, where, true);
  into.touch(name, after, true);
  for (const columns of [table.primaryKey, ...(table.unique ?? [])]) {
    into.touch(indexTable(name, columns), project(where, columns), true);
    into.touch(indexTable(name, columns), project(after, columns), true);
  }
}

/** Options of `statementFootprint`. */
export interface StatementFootprintOptions {
  /** Every access is to the whole table (SERIALIZABLE: SSI's predicate locks cover pages and relations, not only rows). */
  readonly wholeTables?: boolean;
  /** `coarse`: only rows pinned by primary key are told apart, and an insert into a table with a further unique index writes the whole table. */
  readonly independence?: Independence;
  /** Plain reads read the attempt's snapshot (REPEATABLE READ), taken by its first statement, which reads the commit log: they touch no rows themselves. */
  readonly snapshotReads?: boolean;
}

/**
 * What a statement (not COMMIT or ROLLBACK) touches by itself. Plain selects
 * read, everything else writes.
 *
 * - `semantic`: the rows its where-clause can match (an update also the
 *   rows it turns them into), each inserted row; and every write, the entries
 *   it may add to or hold in each unique index, the primary key's included
 *   (a second inserter of a key waits for or fails against any version with
 *   that key, whoever wrote it): an insert its rows' keys, an update or
 *   delete the keys its where-clause allows; an upsert also the row with
 *   its key in the conflict target, as an update of it.
 * - `coarse`: the row its where-condition pins by primary key, or else its
 *   whole table; each inserted row's key (the whole table when the table has
 *   unique indexes besides its primary key).
 *
 * Either way an insert or update also writes its table's heap order (`heapOrder`).
 */
export function statementFootprint(schema: Schema, statement: Statement, into = new Footprint(), options: StatementFootprintOptions = {}): Footprint {
  const whole = options.wholeTables ?? false;
  const coarse = (options.independence ?? 'semantic') === 'coarse';
  // The foreign key checks and actions the write fires at its end.
  if (statement.kind === 'insert' || statement.kind === 'update' || statement.kind === 'delete') foreignKeyFootprint(schema, statement, into, whole ? 'whole' : coarse ? 'coarse' : 'semantic');
  switch (statement.kind) {
    case 'select':
    case 'update':
    case 'delete': {
      const table = schema[statement.table];
      const write = statement.kind !== 'select' || statement.lock !== undefined;
      const where = statement.where as Region;
      if (statement.kind === 'update') into.touch(heapOrder(statement.table), null, true);
      if (whole) into.touch(statement.table, null, write);
      else if (coarse) into.touch(statement.table, pinnedKey(table.primaryKey, where), write);
      else {
        if (!write) {
          // A plain read sees committed versions only: it depends on COMMITs, never on an uncommitted write or a lock.
          if (!options.snapshotReads) into.touch(committedTable(statement.table), where, false);
          return into;
        }
        into.touch(statement.table, where, true);
        if (statement.kind === 'select') return into; // a lock holds no index entry
        const after = statement.kind === 'update' ? updatedRegion(where, statement.set) : null;
        if (after) into.touch(statement.table, after, true);
        for (const columns of [table.primaryKey, ...(table.unique ?? [])]) {
          into.touch(indexTable(statement.table, columns), project(where, columns), true);
          if (after) into.touch(indexTable(statement.table, columns), project(after, columns), true);
        }
      }
      return into;
    }
    case 'insert': {
      const table = schema[statement.table];
      into.touch(heapOrder(statement.table), null, true);
      if (whole || (coarse && table.unique?.length)) into.touch(statement.table, null, true);
      else if (coarse) for (const row of statement.rows) into.touch(statement.table, pinnedKey(table.primaryKey, row), true);
      else {
        for (const row of statement.rows as readonly Row[]) {
          into.touch(statement.table, rowRegion(row), true);
          for (const columns of [table.primaryKey, ...(table.unique ?? [])]) into.touch(indexTable(statement.table, columns), project(rowRegion(row), columns), true);
          if (typeof statement.onConflict === 'object') conflictUpdateFootprint(table, statement.table, statement.onConflict, row, into);
        }
      }
      return into;
    }
    case 'advisory-lock':
      // An advisory lock touches only its key (which the attempt's end releases).
      into.touch(advisoryLocks, { key: statement.key }, true);
      return into;
    case 'commit':
    case 'rollback':
      return into;
    default:
      // A statement kind this file does not know (an advisory lock, say): it writes a pseudo-table of its own kind, whole, so it conflicts with every other of its kind, and its COMMIT or ROLLBACK (which ends the attempt that touched it) too.
      into.touch(`$${(statement as { kind: string }).kind}`, null, true);
      return into;
  }
}

/**
 * Tracks, over one run, what each transaction's open attempt touched, so a
 * step's footprint can include the effects of COMMIT and ROLLBACK and of
 * snapshots.
 *
 * - A COMMIT or ROLLBACK (or a failed statement, which aborts the attempt)
 *   writes what its attempt wrote and locked: it makes versions visible or
 *   undoes them, and releases locks. Under SERIALIZABLE it writes everything
 *   the attempt touched, reads included (SSI may doom a reader), and every
 *   statement reads, and every COMMIT and ROLLBACK writes, the commit log: a
 *   COMMIT can doom another transaction's next statement whatever it
 *   touches, and a ROLLBACK can undo a dangerous structure; and accesses are
 *   to whole tables.
 * - A COMMIT bumps the commit log, which a REPEATABLE READ attempt's first
 *   statement (its snapshot) reads.
 * - A COMMIT or ROLLBACK (or failure) of an attempt that wrote or locked
 *   something writes the wait queue: it may wake waiters that wait again,
 *   which orders deadlock timers. An attempt that only read holds nothing
 *   anyone waits for.
 *
 * With `coarse` independence it is lockstep 0.1's tracker: a COMMIT or
 * ROLLBACK writes everything its attempt touched at every level, and COMMITs
 * write the commit log and the wait queue whatever waits.
 */
export class FootprintTracker {
  private readonly touched = new Map<number, Footprint>();
  private readonly open = new Set<number>();
  private readonly pending = new Map<number, Statement>();
  private readonly options: StatementFootprintOptions;

  constructor(
    private readonly schema: Schema,
    private readonly isolation: IsolationLevel,
    private readonly independence: Independence = 'semantic',
  ) {
    this.options = { wholeTables: isolation === 'serializable', independence, snapshotReads: isolation === 'repeatable-read' };
  }

  /** The footprint of `tx` submitting `statement`, added to `into`. */
  submit(tx: number, statement: Statement, into: Footprint): void {
    this.pending.set(tx, statement);
    if (statement.kind === 'commit' || statement.kind === 'rollback') {
      this.finish(tx, into, statement.kind === 'commit');
      if (statement.kind === 'commit' && !this.strict) into.bumpsCommits = true;
      else if (statement.kind === 'commit' || this.serializable) into.touch(commitLog, null, true);
      return;
    }
    if (!this.open.has(tx)) {
      this.open.add(tx);
      if (this.isolation !== 'read-committed') this.readCommits(into);
    }
    if (this.serializable) into.touch(commitLog, null, false);
    // ROLLBACK TO undoes writes and releases locks the attempt took since the savepoint: as a failure would, it writes what the attempt wrote.
    if (statement.kind === 'rollback-to') this.failed(tx, into);
    const own = statementFootprint(this.schema, statement, undefined, this.options);
    this.attempt(tx).add(own);
    into.add(own);
  }

  /** A statement of `tx` submitted earlier (blocked) completed or changed state during another transaction's step. */
  released(tx: number, failed: boolean, into: Footprint): void {
    const statement = this.pending.get(tx);
    if (statement && statement.kind !== 'commit' && statement.kind !== 'rollback') {
      const own = statementFootprint(this.schema, statement, undefined, this.options);
      this.attempt(tx).add(own);
      into.add(own);
    }
    if (failed) this.failed(tx, into);
  }

  /** The stepped statement had to wait for a lock. */
  waited(into: Footprint): void {
    into.touch(waitQueue, null, true);
  }

  /** Lockstep 0.1's tracker, or SERIALIZABLE: every access of a finishing attempt becomes a write, COMMITs are ordered. */
  private get strict(): boolean {
    return this.independence === 'coarse' || this.serializable;
  }

  private get serializable(): boolean {
    return this.isolation === 'serializable';
  }

  private readCommits(into: Footprint): void {
    if (this.strict) into.touch(commitLog, null, false);
    else into.readsCommits = true;
  }

  /** A statement of `tx` failed: the engine may have aborted its attempt and released its locks. */
  failed(tx: number, into: Footprint): void {
    const t = this.touched.get(tx);
    if (t) into.add(t, this.strict ? 'writes' : 'writes-only');
    if (this.independence === 'semantic' && t?.writes) into.touch(waitQueue, null, true);
  }

  /** `tx`'s attempt ends (COMMIT, ROLLBACK, or the runner abandoning it after an unhandled error). */
  finish(tx: number, into: Footprint, commit = false): void {
    const t = this.touched.get(tx);
    if (t) into.add(t, this.strict ? 'writes' : commit ? 'commit' : 'writes-only');
    if (this.independence === 'coarse' || t?.writes) into.touch(waitQueue, null, true);
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
