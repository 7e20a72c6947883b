import { afterAll, beforeAll, expect } from 'vitest';
import type { Event, IsolationLevel, TxId } from '../../src/adapters/backend.ts';
import { MemoryBackend } from '../../src/adapters/memory/memory-backend.ts';
import { createPostgresBackend, type PostgresBackend } from '../../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import type { Row, Schema, Tables } from '../../src/model/schema.ts';
import type { DbError, Statement } from '../../src/model/statement.ts';

/** Runs each step on the model and on PostgreSQL and asserts the given events on both. */
export interface SideBySide {
  reset(isolation: IsolationLevel): Promise<void>;
  /** The step's events, the same on the model and on PostgreSQL. */
  expect(tx: TxId, statement: Statement, events: Event[]): Promise<void>;
  /** The step returns `rows` to `tx`, and nothing else happens. */
  rows(tx: TxId, statement: Statement, rows: Row[]): Promise<void>;
  /** Both sides' tables are `expected`. */
  tables(expected: Tables): Promise<void>;
}

/**
 * A side-by-side test file's harness: registers the file's PostgreSQL
 * backend for `schema` (the run's server, `DATABASE_URL` or the embedded one;
 * created before the file's tests, closed after) and returns the class whose
 * instances run steps on the model and on it, from `seed` at each `reset`.
 *
 * ```ts
 * const Both = sideBySide(schema, seed);
 * const both = new Both();
 * await both.reset('read-committed');
 * await both.expect(2, lockRow1, [{ tx: 2, kind: 'blocked', waitsFor: [1] }]);
 * ```
 */
export function sideBySide(schema: Schema, seed: Tables): new () => SideBySide {
  let server: Provisioned;
  let postgres: PostgresBackend;
  beforeAll(async () => {
    server = await provisionPostgres();
    postgres = await createPostgresBackend(server.url, schema, { applicationName: 'lockstep-test' });
  });
  afterAll(async () => {
    await postgres?.close();
    await server?.stop();
  });
  return class Both implements SideBySide {
    readonly memory = new MemoryBackend(schema);

    async reset(isolation: IsolationLevel): Promise<void> {
      await this.memory.reset(seed, isolation);
      await postgres.reset(seed, isolation);
    }

    async expect(tx: TxId, statement: Statement, events: Event[]): Promise<void> {
      const model = await this.memory.step(tx, statement);
      const actual = await postgres.step(tx, statement, model);
      expect({ model, postgres: actual }).toEqual({ model: events, postgres: events });
    }

    async rows(tx: TxId, statement: Statement, rows: Row[]): Promise<void> {
      await this.expect(tx, statement, [completed(tx, rows)]);
    }

    async tables(expected: Tables): Promise<void> {
      expect({ model: await this.memory.tables(), postgres: await postgres.tables() }).toEqual({ model: expected, postgres: expected });
    }
  };
}

/** `tx`'s statement completed with `rows`. */
export const completed = (tx: TxId, rows: Row[]): Event => ({ tx, kind: 'completed', result: { rows } });
/** `tx`'s statement failed with `error`. */
export const failed = (tx: TxId, error: DbError): Event => ({ tx, kind: 'completed', result: { error } });
/** `tx` waits, for `waitsFor` as PostgreSQL's pg_blocking_pids names them. */
export const blocked = (tx: TxId, waitsFor: TxId[]): Event => ({ tx, kind: 'blocked', waitsFor });
