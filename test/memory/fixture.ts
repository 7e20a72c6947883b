import type { Event, IsolationLevel, TxId } from '../../src/adapters/backend.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { defineSchema, type DatabaseOf, type Row, type Tables } from '../../src/model/schema.ts';
import type {
  Changes,
  CommitStatement,
  DbError,
  DeleteStatement,
  InsertStatement,
  RollbackStatement,
  SelectStatement,
  UpdateStatement,
  Where,
} from '../../src/model/statement.ts';

/** The schema every memory-engine test runs against: a primary key, and a secondary unique index on `users.email`. */
export const bank = defineSchema({
  accounts: { columns: { id: 'int', balance: 'int' }, primaryKey: ['id'] },
  users: { columns: { id: 'int', email: 'text' }, primaryKey: ['id'], unique: [['email']] },
});

export type BankDb = DatabaseOf<typeof bank>;
type Table = keyof BankDb & string;

/** Committed contents before any transaction runs; a fresh copy on each call. */
export function seed(): Tables {
  return {
    accounts: [
      { id: 1, balance: 3000 },
      { id: 2, balance: 500 },
      { id: 3, balance: 800 },
    ],
    users: [{ id: 1, email: 'ann@example.com' }],
  };
}

/** A memory engine holding `tables` (the seed unless given), with new transactions at `isolation`. */
export function engineAt(isolation: IsolationLevel, tables: Tables = seed()): MemoryEngine {
  const engine = new MemoryEngine(bank);
  engine.reset(tables, isolation);
  return engine;
}

export function select<T extends Table>(
  table: T,
  where: Where<BankDb[T]>,
  options: Pick<SelectStatement<BankDb, T>, 'lock' | 'orderBy' | 'limit'> = {},
): SelectStatement<BankDb, T> {
  return { kind: 'select', table, where, ...options };
}

export function update<T extends Table>(table: T, where: Where<BankDb[T]>, set: Changes<BankDb[T]>): UpdateStatement<BankDb, T> {
  return { kind: 'update', table, where, set };
}

export function insert<T extends Table>(table: T, rows: BankDb[T][], onConflict?: 'nothing'): InsertStatement<BankDb, T> {
  return onConflict ? { kind: 'insert', table, rows, onConflict } : { kind: 'insert', table, rows };
}

export function remove<T extends Table>(table: T, where: Where<BankDb[T]>): DeleteStatement<BankDb, T> {
  return { kind: 'delete', table, where };
}

export const commit: CommitStatement = { kind: 'commit' };
export const rollback: RollbackStatement = { kind: 'rollback' };

/** `tx`'s statement completed and returned `rows`. */
export function completed(tx: TxId, rows: readonly Row[]): Event {
  return { tx, kind: 'completed', result: { rows } };
}

/** `tx`'s statement completed with `error`. */
export function failed(tx: TxId, error: DbError): Event {
  return { tx, kind: 'completed', result: { error } };
}

/** `tx`'s statement is blocked on the transactions `waitsFor`. */
export function blocked(tx: TxId, waitsFor: readonly TxId[]): Event {
  return { tx, kind: 'blocked', waitsFor };
}

// PostgreSQL's SQLSTATEs and messages, exactly as psql prints them (checked on PostgreSQL 15 and 17).

export const deadlockDetected: DbError = { code: '40P01', message: 'deadlock detected' };
export const concurrentUpdate: DbError = { code: '40001', message: 'could not serialize access due to concurrent update' };
export const concurrentDelete: DbError = { code: '40001', message: 'could not serialize access due to concurrent delete' };
export const inFailedTransaction: DbError = {
  code: '25P02',
  message: 'current transaction is aborted, commands ignored until end of transaction block',
};

export function duplicateKey(constraint: 'users_pkey' | 'users_email_key' | 'accounts_pkey'): DbError {
  return { code: '23505', message: `duplicate key value violates unique constraint "${constraint}"` };
}
