import type { Row, Value } from './schema.ts';

/**
 * The statement language a transaction program speaks. Both backends accept
 * exactly these statements: the memory engine interprets them, the postgres
 * adapter compiles them to SQL.
 *
 * Statements are typed against a scenario's database (`DatabaseOf<schema>`),
 * so a misspelt table or column does not compile.
 */

type Comparison = 'gte' | 'gt' | 'lte' | 'lt' | 'ne';

/** Exactly one comparison: `{ gte: 300 }`. Two bounds on one column do not compile (both backends read one). */
type OneComparison<V> = { [Op in Comparison]: { readonly [K in Op]: V } & { readonly [K in Exclude<Comparison, Op>]?: never } }[Comparison];

/** A condition on one column: equality, or one comparison with a constant. */
export type Condition<V> = V | OneComparison<V>;

/** Conjunction of column conditions, like `{ id: 1, balance: { gte: 300 } }`. */
export type Where<R> = { readonly [K in keyof R]?: Condition<R[K]> };

/** A new column value, or for numbers an increment computed from the current row (`balance = balance + n`). */
export type Assignment<V> = V | (V extends number ? { readonly add: number } : never);

/** The SET list of an update. */
export type Changes<R> = { readonly [K in keyof R]?: Assignment<R[K]> };

/** Row lock taken by a locking read. */
export type LockMode = 'update' | 'share';

export interface SelectStatement<Db = any, T extends keyof Db & string = any> {
  readonly kind: 'select';
  readonly table: T;
  readonly where: Where<Db[T]>;
  /** `FOR UPDATE` or `FOR SHARE`. */
  readonly lock?: LockMode;
  /** Extra ordering before the primary key, which always breaks ties. */
  readonly orderBy?: readonly (readonly [keyof Db[T] & string, 'asc' | 'desc'])[];
  readonly limit?: number;
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
  /** `ON CONFLICT DO NOTHING`: a row whose key exists is skipped instead of failing with 23505. */
  readonly onConflict?: 'nothing';
}

export interface DeleteStatement<Db = any, T extends keyof Db & string = any> {
  readonly kind: 'delete';
  readonly table: T;
  readonly where: Where<Db[T]>;
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
  | CommitStatement
  | RollbackStatement;

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
} as const;

/** True when a condition value is a comparison object rather than an equality constant. */
export function isComparison<V>(c: Condition<V>): c is Exclude<Condition<V>, V> {
  return typeof c === 'object' && c !== null;
}

/** Evaluates a where clause on a row. */
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

function compare(v: Value, c: OneComparison<Value>): boolean {
  if (c.gte !== undefined) return v >= c.gte;
  if (c.gt !== undefined) return v > c.gt;
  if (c.lte !== undefined) return v <= c.lte;
  if (c.lt !== undefined) return v < c.lt;
  return v !== c.ne;
}

/** Applies an update's SET list to a row, returning the new row. */
export function applyChanges(set: Changes<Row>, row: Row): Row {
  const next: Row = { ...row };
  for (const column in set) {
    const a = set[column] as Assignment<Value>;
    next[column] = typeof a === 'object' ? (row[column] as number) + a.add : a;
  }
  return next;
}

/** A short SQL-like rendering of a statement for traces and reports, e.g. `update accounts set balance=2700 where id=1`. */
export function describeStatement(s: Statement): string {
  switch (s.kind) {
    case 'select': {
      let text = `select ${s.table}${describeWhere(s.where)}`;
      if (s.orderBy?.length) text += ` order by ${s.orderBy.map(([c, d]) => (d === 'asc' ? c : `${c} desc`)).join(', ')}`;
      if (s.limit !== undefined) text += ` limit ${s.limit}`;
      if (s.lock) text += ` for ${s.lock}`;
      return text;
    }
    case 'update': {
      const sets = Object.entries(s.set as Changes<Row>).map(([c, a]) =>
        typeof a === 'object' ? `${c}=${c}${a.add >= 0 ? '+' : '-'}${Math.abs(a.add)}` : `${c}=${JSON.stringify(a)}`,
      );
      return `update ${s.table} set ${sets.join(', ')}${describeWhere(s.where)}`;
    }
    case 'insert':
      return `insert ${s.table} ${s.rows.map(describeRowValues).join(', ')}${s.onConflict ? ' on conflict do nothing' : ''}`;
    case 'delete':
      return `delete ${s.table}${describeWhere(s.where)}`;
    case 'commit':
    case 'rollback':
      return s.kind;
  }
}

function describeRowValues(row: Row): string {
  return `(${Object.entries(row)
    .map(([column, v]) => `${column}=${JSON.stringify(v)}`)
    .join(', ')})`;
}

const comparisonSymbols = { gte: '>=', gt: '>', lte: '<=', lt: '<', ne: '<>' } as const;

function describeWhere(where: Where<Row>): string {
  const parts = Object.entries(where).map(([column, c]) => {
    if (!isComparison(c as Condition<Value>)) return `${column}=${JSON.stringify(c)}`;
    const [op, v] = Object.entries(c as object)[0] as [keyof typeof comparisonSymbols, Value];
    return `${column}${comparisonSymbols[op]}${JSON.stringify(v)}`;
  });
  return parts.length ? ` where ${parts.join(' and ')}` : '';
}
