import type { Row } from './schema.ts';
import type { DbError, LockMode, NumberColumn, SelectStatement, Statement, StatementResult, Where, Changes, ConflictUpdate } from './statement.ts';

/**
 * A transaction program: one operation under one strategy, written once and
 * run unchanged on the memory engine and on PostgreSQL. It yields statements
 * and receives each statement's result; its return value is the operation's
 * result, which the serial spec must reproduce.
 *
 * ```ts
 * function* deductNaive(tx: Tx<PointsDb>, a: { user: number; amount: number }) {
 *   const acct = yield* tx.selectOne('accounts', { id: a.user });
 *   if (!acct || acct.balance < a.amount) return yield* tx.rollback('insufficient');
 *   yield* tx.update('accounts', { id: a.user }, { balance: acct.balance - a.amount });
 *   return yield* tx.commit('ok');
 * }
 * ```
 *
 * After `commit` or `rollback` a program may go on: its next statement opens a
 * new attempt (a new database transaction), which is how retries are written.
 */
export type Program<Db = any, A = any> = (tx: Tx<Db>, args: A) => TxGenerator<OperationResult>;

/** The generator a program returns. */
export type TxGenerator<R> = Generator<Statement, R, StatementResult>;

/** What an operation reports to its caller, compared with the serial spec's answer. */
export type OperationResult = string | number | boolean | null | { readonly [key: string]: OperationResult } | readonly OperationResult[];

const statementFailureBrand = Symbol.for('lockstep.StatementFailure');

/**
 * A failed statement, thrown inside the program so it can catch it (for
 * example to retry on 40001). `instanceof` holds across copies of lockstep
 * (a scenario file loaded by the CLI may import another copy than the CLI's).
 */
export class StatementFailure extends Error {
  constructor(readonly error: DbError) {
    // Thrown into a program at every failed statement (each 40001 of a serializable search): a stack trace would be most of its cost, and it points into lockstep, not the program.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${error.code}: ${error.message}`);
    Error.stackTraceLimit = limit;
    Object.defineProperty(this, statementFailureBrand, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[statementFailureBrand] === true;
  }
}

/** True when `e` is a statement failure with one of the given SQLSTATEs. */
export function isSqlState(e: unknown, ...codes: string[]): e is StatementFailure {
  return e instanceof StatementFailure && codes.includes(e.error.code);
}

type Table<Db> = keyof Db & string;

/** The statements a program can yield, as typed helpers. Use with `yield*`. */
export interface Tx<Db> {
  /** The transaction's number in the workload (1, 2, ...): a deterministic source of ids. */
  readonly id: number;
  select<T extends Table<Db>>(
    table: T,
    where: Where<Db[T]>,
    options?: { lock?: LockMode; skipLocked?: boolean; nowait?: boolean; orderBy?: readonly (readonly [keyof Db[T] & string, 'asc' | 'desc'])[]; limit?: number },
  ): TxGenerator<Db[T][]>;
  selectOne<T extends Table<Db>>(table: T, where: Where<Db[T]>, options?: { lock?: LockMode; skipLocked?: boolean; nowait?: boolean }): TxGenerator<Db[T] | undefined>;
  /** `SELECT count(*) FROM table WHERE ...`: how many rows the statement's snapshot sees that match (a plain read, with its SIREAD locks under serializable). */
  count<T extends Table<Db>>(table: T, where: Where<Db[T]>): TxGenerator<number>;
  /** `SELECT sum(column) FROM table WHERE ...` over an int or bigint column: null when no row matched (or every value was null). */
  sum<T extends Table<Db>>(table: T, column: NumberColumn<Db[T]>, where: Where<Db[T]>): TxGenerator<number | null>;
  update<T extends Table<Db>>(table: T, where: Where<Db[T]>, set: Changes<Db[T]>): TxGenerator<Db[T][]>;
  /**
   * `INSERT ... RETURNING *`; with `onConflict: 'nothing'`, `ON CONFLICT DO NOTHING` (the rows inserted come back); with
   * `onConflict: { columns, update, where? }`, `ON CONFLICT (columns) DO UPDATE SET ...` (the rows inserted or updated come back).
   */
  insert<T extends Table<Db>>(table: T, rows: Db[T] | readonly Db[T][], options?: { onConflict?: 'nothing' | ConflictUpdate<Db[T]> }): TxGenerator<Db[T][]>;
  delete<T extends Table<Db>>(table: T, where: Where<Db[T]>): TxGenerator<Db[T][]>;
  /** `SELECT pg_advisory_xact_lock(key)`: waits until it holds the advisory lock `key` (a bigint), held until the transaction ends. */
  advisoryLock(key: number): TxGenerator<void>;
  /** `SELECT pg_try_advisory_xact_lock(key)`: takes the advisory lock `key` if no other transaction holds it, without waiting; true when it holds it. */
  tryAdvisoryLock(key: number): TxGenerator<boolean>;
  /** `SAVEPOINT name`. */
  savepoint(name: string): TxGenerator<void>;
  /** `ROLLBACK TO SAVEPOINT name`: undoes what was done since the savepoint, and after an error inside it makes the transaction usable again. */
  rollbackTo(name: string): TxGenerator<void>;
  /** `RELEASE SAVEPOINT name`. */
  release(name: string): TxGenerator<void>;
  commit<R extends OperationResult>(result: R): TxGenerator<R>;
  rollback<R extends OperationResult>(result: R): TxGenerator<R>;
}

function* execute(statement: Statement): TxGenerator<Row[]> {
  const result = yield statement;
  if (result.error) throw new StatementFailure(result.error);
  return result.rows as Row[];
}

class TxHandle<Db> implements Tx<Db> {
  constructor(
    private readonly txId: number,
    private readonly onIdRead?: () => void,
  ) {}

  get id(): number {
    this.onIdRead?.();
    return this.txId;
  }

  select(table: any, where: any, options?: any): TxGenerator<any> {
    return execute(withLockWaits({ kind: 'select', table, where, lock: options?.lock, orderBy: options?.orderBy, limit: options?.limit }, options));
  }

  *selectOne(table: any, where: any, options?: any): TxGenerator<any> {
    const rows = yield* execute(withLockWaits({ kind: 'select', table, where, lock: options?.lock }, options));
    return rows[0];
  }

  *count(table: any, where: any): TxGenerator<number> {
    const rows = yield* execute({ kind: 'select', table, where, aggregate: 'count' });
    return rows[0].count as number;
  }

  *sum(table: any, column: any, where: any): TxGenerator<number | null> {
    const rows = yield* execute({ kind: 'select', table, where, aggregate: { sum: column } });
    return rows[0].sum as number | null;
  }

  update(table: any, where: any, set: any): TxGenerator<any> {
    return execute({ kind: 'update', table, where, set });
  }

  insert(table: any, rows: any, options?: any): TxGenerator<any> {
    return execute({ kind: 'insert', table, rows: Array.isArray(rows) ? rows : [rows], onConflict: options?.onConflict });
  }

  delete(table: any, where: any): TxGenerator<any> {
    return execute({ kind: 'delete', table, where });
  }

  *advisoryLock(key: number): TxGenerator<void> {
    yield* execute({ kind: 'advisory-lock', key });
  }

  *tryAdvisoryLock(key: number): TxGenerator<boolean> {
    const rows = yield* execute({ kind: 'advisory-lock', key, try: true });
    return rows[0].locked === true;
  }

  *savepoint(name: string): TxGenerator<void> {
    yield* execute({ kind: 'savepoint', name });
  }

  *rollbackTo(name: string): TxGenerator<void> {
    yield* execute({ kind: 'rollback-to', name });
  }

  *release(name: string): TxGenerator<void> {
    yield* execute({ kind: 'release', name });
  }

  *commit<R extends OperationResult>(result: R): TxGenerator<R> {
    yield* execute(commitStatement);
    return result;
  }

  *rollback<R extends OperationResult>(result: R): TxGenerator<R> {
    yield* execute(rollbackStatement);
    return result;
  }
}

/** The select with `skipLocked` and `nowait` when the options give them (absent otherwise, so statements stay as they were). */
function withLockWaits(select: SelectStatement, options?: { skipLocked?: boolean; nowait?: boolean }): SelectStatement {
  if (options?.skipLocked === undefined && options?.nowait === undefined) return select;
  return { ...select, ...(options.skipLocked !== undefined && { skipLocked: options.skipLocked }), ...(options.nowait !== undefined && { nowait: options.nowait }) };
}

const commitStatement: Statement = { kind: 'commit' };
const rollbackStatement: Statement = { kind: 'rollback' };

/** Builds the `Tx` handed to the program of workload transaction `id`; `onIdRead` is told whenever the program reads `tx.id`. */
export function createTx<Db>(id: number, onIdRead?: () => void): Tx<Db> {
  return new TxHandle<Db>(id, onIdRead);
}
