import type { Event, TxId } from '../adapters/backend.ts';
import { StatementFailure, type OperationResult, type TxGenerator } from '../model/program.ts';
import { canonicalTables, type Row, type Schema, type Tables } from '../model/schema.ts';
import type { Statement, StatementResult } from '../model/statement.ts';
import type { RunObserver } from './dependency-run.ts';
import type { Symmetry } from './symmetry.ts';

/** Rows a transaction appended with its own id in some columns. */
interface IdRows {
  readonly table: string;
  readonly rows: readonly Row[];
  readonly columns: readonly string[];
}

/**
 * Where interchangeable transactions (`symmetry.ts`) write their own id
 * (`tx.id`) and nothing else tells them apart: columns of tables that the
 * workload only appends to, as a ledger's history rows take the request's
 * id. Such a table's rows are a function of what each transaction's program
 * was given (programs are deterministic) and no statement reads them, so the
 * state cache leaves the table out of its names (`tables`), and two runs
 * that differ only in which transaction did what are one.
 *
 * Each program runs beside shadows of itself given its classmates' ids (or,
 * without classmates, an id no transaction has), fed the same results (with
 * the ids in its rows swapped): they must submit the same statements and end
 * the same way, but for the id columns of plain INSERTs. The search starts again without
 * symmetry (`broken`) when that fails, and when a table that took ids:
 *
 * - is touched by anything but a plain INSERT (a read, an update, a delete,
 *   an upsert, a foreign key), or has seed rows;
 * - takes a row without the ids in the same columns;
 * - makes an INSERT wait or fail (a unique key met).
 *
 * So two rows of such a table that hold a unique key with an id column
 * differ in it, whichever transactions wrote them: no unique check, and so
 * no step, tells the transactions apart. A program that reads `tx.id` and
 * uses it for anything else (a WHERE, its result, `if (tx.id === 2)`)
 * diverges from a shadow.
 */
export class IdColumns {
  /** Tables that took transactions' ids, with the columns that hold them. */
  readonly tables = new Map<string, readonly string[]>();
  /** Set when something tells interchangeable transactions apart after all: the search starts again without symmetry. */
  broken = false;
  /** Tables touched by something other than an INSERT that held ids (reads, writes other than appends, foreign keys, seed rows). */
  private readonly other = new Set<string>();
  /** Per transaction (this run): id rows of its open attempt, and of its committed one. */
  private readonly open: IdRows[][];
  private readonly committed: IdRows[][];
  /** Per transaction: a statement of its open attempt failed (its COMMIT will roll back). */
  private readonly failed: boolean[];
  /** Per transaction: the id-rows statement it submitted last (to notice it waiting). */
  private readonly appending: (string | null)[];

  constructor(
    schema: Schema,
    seed: Tables,
    private readonly symmetry: Symmetry,
    private readonly size: number,
  ) {
    for (const [name, table] of Object.entries(schema)) {
      if ((seed[name]?.length ?? 0) > 0) this.other.add(name);
      for (const fk of table.foreignKeys ?? []) {
        this.other.add(name);
        this.other.add(fk.references.table);
      }
    }
    this.open = Array.from({ length: size + 1 }, () => []);
    this.committed = Array.from({ length: size + 1 }, () => []);
    this.failed = new Array<boolean>(size + 1).fill(false);
    this.appending = new Array<string | null>(size + 1).fill(null);
  }

  /** Starts a new run. */
  reset(): void {
    for (let t = 1; t < this.open.length; t++) {
      this.open[t].length = 0;
      this.committed[t].length = 0;
      this.failed[t] = false;
      this.appending[t] = null;
    }
  }

  /** `tx` submitted `statement` (every transaction's statements, seen by the runner's observer). */
  submitted(tx: TxId, statement: Statement): void {
    this.appending[tx] = null;
    if (!('table' in statement)) return;
    const table = statement.table;
    if (statement.kind === 'insert' && statement.onConflict === undefined) {
      if (this.tables.has(table)) this.appending[tx] = table;
      return;
    }
    this.touch(table);
  }

  /** A step's events: an append to a table holding ids that waited or failed met a unique key. */
  events(events: readonly Event[]): void {
    for (const e of events) if (this.appending[e.tx] !== null && (e.kind === 'blocked' || e.result.error !== undefined)) this.broken = true;
  }

  /** Sees a run's statements and events (for a run of its own). */
  observer(): RunObserver {
    return { submitted: (tx, statement) => this.submitted(tx, statement), abandoned: () => undefined, events: (events) => this.events(events) };
  }

  /**
   * `tx`'s program (`start(id)` starts it given `id`), run beside shadows of
   * itself given its classmates' ids while nothing tells them apart.
   */
  *program(tx: TxId, start: (id: number) => TxGenerator<OperationResult>): TxGenerator<OperationResult> {
    const real = start(tx);
    // A transaction without classmates is never swapped, but its appends must hold its id where the others' do: a shadow given an id no transaction has shows where.
    const mates = this.symmetry.classes.find((c) => c.includes(tx))?.filter((t) => t !== tx) ?? [this.size + 1];
    const shadows = mates.map((id) => ({ id, program: start(id) }));
    let input: StatementResult | undefined;
    let last: { table: string; columns: readonly string[] } | null = null;
    for (let first = true; ; first = false) {
      let next: IteratorResult<Statement, OperationResult>;
      try {
        next = first ? real.next() : real.next(input!);
      } catch (e) {
        this.open[tx].length = 0;
        this.failed[tx] = false;
        if (!this.broken) for (const s of shadows) if (!sameThrow(e, () => (first ? s.program.next() : s.program.next(shadowResult(input!, last, tx, s.id))))) this.broken = true;
        throw e;
      }
      if (!this.broken) {
        const asShadows = shadows.map((s) => attempt(() => (first ? s.program.next() : s.program.next(shadowResult(input!, last, tx, s.id)))));
        last = this.compare(tx, next, asShadows, mates);
      } else last = null;
      if (next.done) return next.value;
      const statement = next.value;
      input = yield statement;
      this.record(tx, statement, input, last);
    }
  }

  /** Checks the shadows' steps against the real one's; the id columns of the statement when it appends ids. */
  private compare(tx: TxId, real: IteratorResult<Statement, OperationResult>, shadows: readonly (IteratorResult<Statement, OperationResult> | { thrown: unknown })[], mates: readonly TxId[]): { table: string; columns: readonly string[] } | null {
    let columns: Set<string> | undefined;
    const realText = JSON.stringify(real.value ?? null);
    for (let k = 0; k < shadows.length && !this.broken; k++) {
      const shadow = shadows[k];
      if ('thrown' in shadow || shadow.done !== real.done) {
        this.broken = true;
        break;
      }
      if (JSON.stringify(shadow.value ?? null) === realText) continue;
      const found = real.done ? undefined : idColumns(real.value, shadow.value as Statement, tx, mates[k]);
      if (found === undefined || (columns !== undefined && !sameSet(columns, found))) this.broken = true;
      else columns = found;
    }
    if (this.broken || real.done) return null;
    const statement = real.value;
    if (statement.kind !== 'insert' || statement.onConflict !== undefined) return null;
    const known = this.tables.get(statement.table);
    const now = [...(columns ?? [])].sort();
    if (known === undefined && now.length === 0) {
      // Rows without ids: the table may not take ids later.
      this.other.add(statement.table);
      return null;
    }
    // A table holds ids in the same columns in every row, starts empty, and is only appended to.
    if (known === undefined) {
      if (this.other.has(statement.table)) this.broken = true;
      else this.tables.set(statement.table, now);
    } else if (known.join() !== now.join()) this.broken = true;
    return this.broken ? null : { table: statement.table, columns: now };
  }

  /** Keeps the id rows of `tx`'s attempt as it goes: appended, committed, undone. */
  private record(tx: TxId, statement: Statement, result: StatementResult, appended: { table: string; columns: readonly string[] } | null): void {
    if (statement.kind === 'commit') {
      // A COMMIT of a transaction a statement failed in rolls it back (PostgreSQL answers it without an error).
      if (result.error === undefined && !this.failed[tx]) this.committed[tx].push(...this.open[tx]);
      this.open[tx].length = 0;
      this.failed[tx] = false;
    } else if (statement.kind === 'rollback') {
      this.open[tx].length = 0;
      this.failed[tx] = false;
    } else if (statement.kind === 'rollback-to') {
      // Which appends a savepoint undoes is not followed.
      if (this.open[tx].length > 0) this.broken = true;
      this.failed[tx] = false;
    } else if (result.error !== undefined) this.failed[tx] = true;
    else if (appended !== null && statement.kind === 'insert') this.open[tx].push({ table: appended.table, rows: statement.rows as Row[], columns: appended.columns });
  }

  /** Marks `table` as touched by something other than an append holding ids. */
  private touch(table: string): void {
    this.other.add(table);
    if (this.tables.has(table)) this.broken = true;
  }

  /** An append's result with the ids it holds left out (null): what the key of a state names it by. */
  withoutIds(statement: Statement, result: StatementResult): StatementResult {
    if (statement.kind !== 'insert' || result.rows === undefined) return result;
    const columns = this.tables.get(statement.table);
    if (columns === undefined) return result;
    return { rows: result.rows.map((row) => withValue(row, columns, null)) };
  }

  /** What `tx` committed to tables that hold ids, with its id left out: transactions alike in this are alike in the final tables but for their ids. */
  committedShape(tx: TxId): string {
    return JSON.stringify(this.committed[tx].map((r) => [r.table, r.rows.map((row) => withValue(row, r.columns, null))]));
  }

  /** The final tables of the run in which `to[t]` did what each `t` did: the rows `t` appended carry `to[t]`'s id. */
  reassigned(schema: Schema, final: Tables, to: readonly TxId[]): Tables {
    if (this.tables.size === 0) return final;
    const out: Record<string, Row[]> = {};
    const taken = new Map<string, Set<number>>();
    for (const name of this.tables.keys()) {
      out[name] = [...(final[name] ?? [])];
      taken.set(name, new Set());
    }
    for (let t = 1; t < this.committed.length; t++) {
      if (to[t] === t) continue;
      for (const r of this.committed[t]) {
        const rows = out[r.table];
        const done = taken.get(r.table)!;
        for (const row of r.rows) {
          const at = rows.findIndex((x, i) => !done.has(i) && sameRow(x, row));
          if (at < 0) throw new Error(`Exhaustive search: T${t}'s ${r.table} row ${JSON.stringify(row)} is not in the final table.`);
          rows[at] = withValue(row, r.columns, to[t]);
          done.add(at);
        }
      }
    }
    return canonicalTables(schema, { ...final, ...out });
  }
}

function sameRow(a: Row, b: Row): boolean {
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k]);
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

function attempt<T>(f: () => T): T | { thrown: unknown } {
  try {
    return f();
  } catch (e) {
    return { thrown: e };
  }
}

/** True when `f` throws what the real program threw: the same failed statement. */
function sameThrow(real: unknown, f: () => unknown): boolean {
  const shadow = attempt(f);
  if (!(shadow && typeof shadow === 'object' && 'thrown' in shadow)) return false;
  const thrown = shadow.thrown;
  return real instanceof StatementFailure && thrown instanceof StatementFailure && JSON.stringify(real.error) === JSON.stringify(thrown.error);
}

/**
 * The columns where every row of a real INSERT holds `tx` and its shadow's
 * holds `mate`, every other value alike; undefined when the two differ
 * otherwise, or when its rows hold the id in different columns.
 */
function idColumns(real: Statement, shadow: Statement, tx: TxId, mate: TxId): Set<string> | undefined {
  if (real.kind !== 'insert' || shadow.kind !== 'insert' || real.table !== shadow.table || real.rows.length !== shadow.rows.length) return undefined;
  if (real.onConflict !== undefined || shadow.onConflict !== undefined) return undefined;
  let columns: Set<string> | undefined;
  for (let i = 0; i < real.rows.length; i++) {
    const a = real.rows[i] as Row;
    const b = shadow.rows[i] as Row;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return undefined;
    const row = new Set<string>();
    for (const k of keys) {
      if (a[k] === b[k]) continue;
      if (a[k] === tx && b[k] === mate) row.add(k);
      else return undefined;
    }
    if (columns !== undefined && !sameSet(columns, row)) return undefined;
    columns = row;
  }
  return columns ?? new Set();
}

/** The result a shadow given `mate`'s id gets: the real one's, with the rows it appended carrying `mate`. */
function shadowResult(result: StatementResult, appended: { readonly columns: readonly string[] } | null, tx: TxId, mate: TxId): StatementResult {
  if (appended === null || result.rows === undefined) return result;
  return { rows: result.rows.map((row) => withValue(row, appended.columns.filter((c) => row[c] === tx), mate)) };
}

/** `row` with `value` in `columns`. */
function withValue(row: Row, columns: readonly string[], value: TxId | null): Row {
  const out: Record<string, unknown> = { ...row };
  for (const c of columns) out[c] = value;
  return out as Row;
}
