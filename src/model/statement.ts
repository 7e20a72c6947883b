import { columnType, compareBy, isNullable, type Row, type TableSchema, type Value } from './schema.ts';

/**
 * The statement language a transaction program speaks. Both backends accept
 * exactly these statements: the memory engine interprets them, the postgres
 * adapter compiles them to SQL.
 *
 * Statements are typed against a scenario's database (`DatabaseOf<schema>`),
 * so a misspelt table or column does not compile.
 */

type Operator = 'gte' | 'gt' | 'lte' | 'lt' | 'ne' | 'in';

/** An object with exactly the operators `Ops`, each comparing with a `V`; the other operators absent. */
type Exactly<Ops extends Operator, V> = { readonly [K in Ops]: K extends 'in' ? readonly V[] : V } & { readonly [K in Exclude<Operator, Ops>]?: never };

/**
 * A comparison with constants: one of `{ gte }`, `{ gt }`, `{ lte }`, `{ lt }`
 * (a bound), a range of a lower and an upper bound (`{ gte: 200, lt: 400 }`),
 * `{ ne }`, or `{ in: [...] }` (a non-empty list). `{ ne: null }` is `IS NOT
 * NULL`; any other comparison with null matches nothing, as in SQL.
 */
export type Comparison<V> =
  | Exactly<'gte', V>
  | Exactly<'gt', V>
  | Exactly<'lte', V>
  | Exactly<'lt', V>
  | Exactly<'gte' | 'lte', V>
  | Exactly<'gte' | 'lt', V>
  | Exactly<'gt' | 'lte', V>
  | Exactly<'gt' | 'lt', V>
  | Exactly<'ne', V>
  | Exactly<'in', V>;

/** A condition on one column: equality with a constant (`null` is `IS NULL`), or a comparison. */
export type Condition<V> = V | null | Comparison<V | null>;

/** Conjunction of column conditions, like `{ id: 1, balance: { gte: 300 } }`. */
export type Where<R> = { readonly [K in keyof R]?: Condition<R[K]> };

/** A new column value (null for a nullable column), or for numbers an increment computed from the current row (`balance = balance + n`; null stays null). */
export type Assignment<V> = V | (V extends number ? { readonly add: number } : never);

/** The SET list of an update. */
export type Changes<R> = { readonly [K in keyof R]?: Assignment<R[K]> };

/** The columns of `R` whose values fit a column of type `V` (nulls aside): those `excluded` may take a value from. */
type ColumnsFitting<R, V> = { [C in keyof R]: NonNullable<R[C]> extends NonNullable<V> ? C : never }[keyof R] & string;

/**
 * A new value in `ON CONFLICT DO UPDATE SET`: what an update's SET list takes
 * (a constant, null, or `{ add: n }`, an increment of the existing row), or
 * `{ excluded: 'col' }`, the value the proposed row has for `col`
 * (`excluded.col`).
 */
export type ConflictAssignment<R, V> = Assignment<V> | { readonly excluded: ColumnsFitting<R, V> };

/**
 * `ON CONFLICT (columns) DO UPDATE SET ... [WHERE ...]`: a proposed row whose
 * key in the unique index on `columns` (the primary key or a `unique` entry)
 * exists updates that row instead, when the row matches `where` (conditions
 * on the existing row; a row that does not match is locked and left as it
 * is).
 *
 * ```ts
 * yield* tx.insert('counters', { key: 'visits', n: 1 }, { onConflict: { columns: ['key'], update: { n: { add: 1 } } } });
 * // insert into counters values ('visits', 1) on conflict (key) do update set n = counters.n + 1 returning *
 * ```
 */
export interface ConflictUpdate<R = any> {
  readonly columns: readonly (keyof R & string)[];
  readonly update: { readonly [K in keyof R]?: ConflictAssignment<R, R[K]> };
  readonly where?: Where<R>;
}

/** Row lock taken by a locking read: `FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`, `FOR KEY SHARE`. */
export type LockMode = 'update' | 'no-key-update' | 'share' | 'key-share';

/** The columns of a row type that hold numbers (int or bigint, nullable or not): what `sum` adds up. */
export type NumberColumn<R> = { [K in keyof R]-?: R[K] extends number | null ? (number extends R[K] ? K : never) : never }[keyof R] & string;

/**
 * An aggregate a select returns instead of its rows: `count` is `count(*)`,
 * one row `{ count }` (a number); `{ sum: column }` is `sum(column)`, one
 * row `{ sum }`, null when no row matched or every value was null (a number
 * otherwise, as the postgres adapter reads PostgreSQL's bigint or numeric).
 */
export type Aggregate<R = any> = 'count' | { readonly sum: NumberColumn<R> };

export interface SelectStatement<Db = any, T extends keyof Db & string = any> {
  readonly kind: 'select';
  readonly table: T;
  readonly where: Where<Db[T]>;
  /** `FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE` or `FOR KEY SHARE`. */
  readonly lock?: LockMode;
  /** `SKIP LOCKED` (with a lock): a row another transaction holds a conflicting lock on is left out, without waiting. */
  readonly skipLocked?: boolean;
  /** `NOWAIT` (with a lock): a row another transaction holds a conflicting lock on fails the statement with 55P03 instead of waiting. */
  readonly nowait?: boolean;
  /** Extra ordering before the primary key, which always breaks ties. */
  readonly orderBy?: readonly (readonly [keyof Db[T] & string, 'asc' | 'desc'])[];
  readonly limit?: number;
  /** `select count(*)` or `select sum(column)` over the rows the where clause matches (not with a lock, an ORDER BY or a LIMIT). */
  readonly aggregate?: Aggregate<Db[T]>;
}

export interface UpdateStatement<Db = any, T extends keyof Db & string = any> {
  readonly kind: 'update';
  readonly table: T;
  readonly where: Where<Db[T]>;
  readonly set: Changes<Db[T]>;
}

export interface InsertStatement<Db = any, T extends keyof Db & string = any> {
  readonly kind: 'insert';
  readonly table: T;
  readonly rows: readonly Db[T][];
  /** `ON CONFLICT DO NOTHING`: a row whose key exists is skipped instead of failing with 23505; or `ON CONFLICT (columns) DO UPDATE` (`ConflictUpdate`). */
  readonly onConflict?: 'nothing' | ConflictUpdate<Db[T]>;
}

export interface DeleteStatement<Db = any, T extends keyof Db & string = any> {
  readonly kind: 'delete';
  readonly table: T;
  readonly where: Where<Db[T]>;
}

/**
 * `SELECT pg_advisory_xact_lock(key)`: takes the transaction-level advisory
 * lock `key` (a bigint), waiting while another transaction holds it; or with
 * `try`, `SELECT pg_try_advisory_xact_lock(key)`, which does not wait and
 * returns one row `{ locked }` (true when it took the lock or already held
 * it). Held until COMMIT or ROLLBACK; waits are in the wait-for graph with
 * row locks.
 */
export interface AdvisoryLockStatement {
  readonly kind: 'advisory-lock';
  readonly key: number;
  readonly try?: boolean;
}

/** `SAVEPOINT name`: a point inside the transaction that `rollback-to` returns to (a subtransaction, in PostgreSQL's terms). */
export interface SavepointStatement {
  readonly kind: 'savepoint';
  readonly name: string;
}

/**
 * `ROLLBACK TO SAVEPOINT name`: undoes what the transaction did since the
 * savepoint (its writes, and the row and advisory locks it took since), and
 * ends a failed state an error inside the savepoint left; the savepoint stays.
 * An unknown name fails with 3B001.
 */
export interface RollbackToStatement {
  readonly kind: 'rollback-to';
  readonly name: string;
}

/** `RELEASE SAVEPOINT name`: forgets the savepoint and those after it, keeping what was done since. An unknown name fails with 3B001. */
export interface ReleaseStatement {
  readonly kind: 'release';
  readonly name: string;
}

export interface CommitStatement {
  readonly kind: 'commit';
}

export interface RollbackStatement {
  readonly kind: 'rollback';
}

/** Any statement of the language. */
export type Statement<Db = any> =
  | SelectStatement<Db, keyof Db & string>
  | UpdateStatement<Db, keyof Db & string>
  | InsertStatement<Db, keyof Db & string>
  | DeleteStatement<Db, keyof Db & string>
  | AdvisoryLockStatement
  | SavepointStatement
  | RollbackToStatement
  | ReleaseStatement
  | CommitStatement
  | RollbackStatement;

/** The statements that mark a savepoint, roll back to one or release one. */
export type SavepointControl = SavepointStatement | RollbackToStatement | ReleaseStatement;

/** True for `savepoint`, `rollback-to` and `release`. */
export function isSavepointControl(s: Statement): s is SavepointControl {
  return s.kind === 'savepoint' || s.kind === 'rollback-to' || s.kind === 'release';
}

/** A database error, as PostgreSQL reports it: SQLSTATE and message. */
export interface DbError {
  readonly code: string;
  readonly message: string;
}

/**
 * What a statement returned: the rows it read or changed (update, insert and
 * delete return the changed rows, as with `RETURNING *`) and how many there
 * were, or the error it raised.
 */
export type StatementResult = { readonly rows: readonly Row[]; readonly error?: undefined } | { readonly rows?: undefined; readonly error: DbError };

/** SQLSTATEs the model raises, with PostgreSQL's messages. */
export const SqlState = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  inFailedTransaction: '25P02',
  numericOutOfRange: '22003',
  notNullViolation: '23502',
  lockNotAvailable: '55P03',
  noSuchSavepoint: '3B001',
  cardinalityViolation: '21000',
  foreignKeyViolation: '23503',
} as const;

/** True when a condition value is a comparison object rather than an equality constant (or null, `IS NULL`). */
export function isComparison<V>(c: Condition<V>): c is Comparison<V | null> {
  return typeof c === 'object' && c !== null;
}

/** Evaluates a where clause on a row, with SQL's NULL: only `IS NULL` and `IS NOT NULL` match a null, and nothing matches a comparison with null. */
export function matches(where: Where<Row>, row: Row): boolean {
  for (const column in where) {
    const c = where[column] as Condition<Value>;
    const v = row[column];
    if (!isComparison(c)) {
      if (v !== c) return false;
      continue;
    }
    if (!compare(v, c)) return false;
  }
  return true;
}

function compare(v: Value, c: Comparison<Value>): boolean {
  if (c.ne !== undefined) return c.ne === null ? v !== null : v !== null && v !== c.ne;
  if (v === null) return false;
  if (c.in !== undefined) return c.in.includes(v);
  if (c.gte !== undefined && !(c.gte !== null && compareValues(v, c.gte) >= 0)) return false;
  if (c.gt !== undefined && !(c.gt !== null && compareValues(v, c.gt) > 0)) return false;
  if (c.lte !== undefined && !(c.lte !== null && compareValues(v, c.lte) <= 0)) return false;
  if (c.lt !== undefined && !(c.lt !== null && compareValues(v, c.lt) < 0)) return false;
  return true;
}

/** Orders two non-null values of one column type as PostgreSQL does (text by code point, as the "C" collation). */
function compareValues(x: number | string | boolean, y: number | string | boolean): number {
  return compareBy(['v'], { v: x }, { v: y });
}

/** Applies an update's SET list to a row, returning the new row (an increment of null is null, as in SQL). */
export function applyChanges(set: Changes<Row>, row: Row): Row {
  const next: Row = { ...row };
  for (const column in set) {
    const a = set[column] as Assignment<Value>;
    if (typeof a === 'object' && a !== null) {
      const current = row[column] as number | null;
      next[column] = current === null ? null : current + a.add;
    } else {
      next[column] = a;
    }
  }
  return next;
}

/** An upsert's SET list for the proposed `row`: each `{ excluded: col }` replaced by the row's value of `col`. */
export function conflictChanges(spec: ConflictUpdate, row: Row): Changes<Row> {
  const out: Record<string, unknown> = {};
  for (const column in spec.update) {
    const a = (spec.update as Record<string, unknown>)[column];
    out[column] = typeof a === 'object' && a !== null && 'excluded' in a ? row[(a as { excluded: string }).excluded] : a;
  }
  return out as Changes<Row>;
}

/**
 * 22003 as PostgreSQL reports it when it binds a parameter: an int column's
 * value in an insert row or a SET list outside 32 bits (`value "2147483648"
 * is out of range for type integer`), found before the statement runs, in
 * the order of the compiled statement's parameters (rows in order, each in
 * column order; then the SET list, an upsert's too). Compared values and increments are
 * checked when the statement is defined, a bigint's values too.
 */
export function parameterError(table: TableSchema, s: Statement): DbError | null {
  if (s.kind === 'insert') {
    for (const row of s.rows as readonly Row[]) {
      for (const column in table.columns) {
        const error = int4Parameter(table, column, row[column]);
        if (error) return error;
      }
    }
    if (typeof s.onConflict === 'object') {
      const set = s.onConflict.update as Record<string, unknown>;
      for (const column in set) {
        const error = int4Parameter(table, column, set[column]);
        if (error) return error;
      }
    }
  } else if (s.kind === 'update') {
    const set = s.set as Changes<Row>;
    for (const column in set) {
      const error = int4Parameter(table, column, set[column] as Assignment<Value>);
      if (error) return error;
    }
  }
  return null;
}

function int4Parameter(table: TableSchema, column: string, v: unknown): DbError | null {
  if (typeof v !== 'number' || (v | 0) === v || columnType(table.columns[column]) !== 'int') return null;
  return { code: SqlState.numericOutOfRange, message: `value "${String(v)}" is out of range for type integer` };
}

/** PostgreSQL's bigint range. */
const int8Min = -(2n ** 63n);
const int8Max = 2n ** 63n - 1n;

/**
 * The row an UPDATE writes, or the error PostgreSQL raises computing it:
 * 22003 when an increment leaves the column's range (`integer out of range`
 * past 32 bits, `bigint out of range` past 64), columns in table order, then
 * 23502 for a null in a NOT NULL column (`notNullError`). A bigint past 2^53
 * is computed exactly and then held as the nearest JavaScript number, which
 * is what `pg` reads from PostgreSQL.
 */
export function updatedRow(name: string, table: TableSchema, set: Changes<Row>, row: Row): { readonly row: Row; readonly error?: undefined } | { readonly row?: undefined; readonly error: DbError } {
  const next: Row = { ...row };
  for (const column in table.columns) {
    if (!Object.hasOwn(set, column)) continue;
    const a = set[column] as Assignment<Value>;
    if (typeof a !== 'object' || a === null) {
      next[column] = a;
      continue;
    }
    const current = row[column] as number | null;
    if (current === null) {
      next[column] = null;
      continue;
    }
    let sum = current + a.add;
    if (columnType(table.columns[column]) === 'bigint') {
      if (!Number.isSafeInteger(sum)) {
        const exact = BigInt(current) + BigInt(a.add);
        if (exact < int8Min || exact > int8Max) return { error: { code: SqlState.numericOutOfRange, message: 'bigint out of range' } };
        sum = Number(exact);
      }
    } else if ((sum | 0) !== sum) {
      return { error: { code: SqlState.numericOutOfRange, message: 'integer out of range' } };
    }
    next[column] = sum;
  }
  const error = notNullError(name, table, next);
  return error ? { error } : { row: next };
}

/** 23502 for the first column (in table order) of `row` holding a null that is NOT NULL, with PostgreSQL's message; null when there is none. */
export function notNullError(name: string, table: TableSchema, row: Row): DbError | null {
  for (const column in table.columns) {
    if (row[column] === null && !isNullable(table.columns[column])) {
      return { code: SqlState.notNullViolation, message: `null value in column "${column}" of relation "${name}" violates not-null constraint` };
    }
  }
  return null;
}

/** A short SQL-like rendering of a statement for traces and reports, e.g. `update accounts set balance=2700 where id=1`. */
export function describeStatement(s: Statement): string {
  switch (s.kind) {
    case 'select': {
      let text = `select ${s.aggregate === undefined ? '' : s.aggregate === 'count' ? 'count(*) ' : `sum(${s.aggregate.sum}) `}${s.table}${describeWhere(s.where)}`;
      if (s.orderBy?.length) text += ` order by ${s.orderBy.map(([c, d]) => (d === 'asc' ? c : `${c} desc`)).join(', ')}`;
      if (s.limit !== undefined) text += ` limit ${s.limit}`;
      if (s.lock) text += ` for ${s.lock.replace(/-/g, ' ')}${s.skipLocked === true ? ' skip locked' : ''}${s.nowait === true ? ' nowait' : ''}`;
      return text;
    }
    case 'update':
      return `update ${s.table} set ${describeSet(s.set)}${describeWhere(s.where)}`;
    case 'insert':
      return `insert ${s.table} ${s.rows.map(describeRowValues).join(', ')}${describeOnConflict(s.onConflict)}`;
    case 'delete':
      return `delete ${s.table}${describeWhere(s.where)}`;
    case 'advisory-lock':
      return `${s.try === true ? 'try ' : ''}advisory lock ${s.key}`;
    case 'savepoint':
      return `savepoint ${s.name}`;
    case 'rollback-to':
      return `rollback to ${s.name}`;
    case 'release':
      return `release ${s.name}`;
    case 'commit':
    case 'rollback':
      return s.kind;
  }
}

/** `balance=balance-300, note="x", n=excluded.n`. */
function describeSet(set: Record<string, unknown>): string {
  return Object.entries(set)
    .map(([c, a]) => {
      if (typeof a !== 'object' || a === null) return `${c}=${JSON.stringify(a)}`;
      if ('excluded' in a) return `${c}=excluded.${String(a.excluded)}`;
      const add = (a as { add: number }).add;
      return `${c}=${c}${add >= 0 ? '+' : '-'}${Math.abs(add)}`;
    })
    .join(', ');
}

/** ` on conflict do nothing`, ` on conflict (k) do update set n=n+1 where n<10`, or nothing. */
function describeOnConflict(onConflict: InsertStatement['onConflict']): string {
  if (onConflict === undefined) return '';
  if (onConflict === 'nothing') return ' on conflict do nothing';
  const set = describeSet(onConflict.update);
  return ` on conflict (${onConflict.columns.join(', ')}) do update${set === '' ? '' : ` set ${set}`}${describeWhere(onConflict.where ?? {})}`;
}

function describeRowValues(row: Row): string {
  return `(${Object.entries(row)
    .map(([column, v]) => `${column}=${JSON.stringify(v)}`)
    .join(', ')})`;
}

const comparisonSymbols = { gte: '>=', gt: '>', lte: '<=', lt: '<', ne: '<>' } as const;

/** ` where id=1 and holder is null and value>=200 and value<400 and k in (10, 20)`. */
function describeWhere(where: Where<Row>): string {
  const parts: string[] = [];
  for (const [column, c] of Object.entries(where)) {
    if (c === null) parts.push(`${column} is null`);
    else if (!isComparison(c as Condition<Value>)) parts.push(`${column}=${JSON.stringify(c)}`);
    else {
      for (const [op, v] of Object.entries(c as object) as [keyof typeof comparisonSymbols | 'in', Value | readonly Value[]][]) {
        if (op === 'in') parts.push(`${column} in (${(v as readonly Value[]).map((x) => JSON.stringify(x)).join(', ')})`);
        else if (op === 'ne' && v === null) parts.push(`${column} is not null`);
        else parts.push(`${column}${comparisonSymbols[op]}${JSON.stringify(v)}`);
      }
    }
  }
  return parts.length ? ` where ${parts.join(' and ')}` : '';
}
