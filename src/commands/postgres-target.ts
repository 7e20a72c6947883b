import { createPostgresBackend, type PostgresBackend } from '../adapters/postgres/postgres-backend.ts';
import { provisionPostgres } from '../adapters/postgres/provision.ts';
import { SqlCompiler } from '../adapters/postgres/sql-compiler.ts';
import type { Schema } from '../model/schema.ts';
import type { Statement } from '../model/statement.ts';

/** A backend on a PostgreSQL server for one scenario schema, and how to let go of both. */
export interface PostgresTarget {
  readonly backend: PostgresBackend;
  /** The SQL a statement runs as, parameters shown after it. */
  readonly sql: (statement: Statement) => string;
  /** Drops the run schema, closes every connection and stops an embedded server. Idempotent. */
  release(): Promise<void>;
}

const releases = new Set<() => Promise<void>>();
let watching = false;

/**
 * Connects to PostgreSQL (`db`, else `DATABASE_URL`, else an embedded server)
 * and creates a backend for `schema`. On Ctrl-C or SIGTERM everything opened
 * here is released before the process exits with 130.
 */
export async function openPostgres(schema: Schema, db?: string): Promise<PostgresTarget> {
  watchSignals();
  const server = await provisionPostgres({ url: db });
  let backend: PostgresBackend;
  try {
    backend = await createPostgresBackend(server.url, schema);
  } catch (e) {
    await server.stop();
    throw e;
  }
  const compiler = new SqlCompiler(schema, backend.schemaName);
  let released: Promise<void> | undefined;
  const release = () => {
    released ??= (async () => {
      releases.delete(release);
      try {
        await backend.close();
      } finally {
        await server.stop();
      }
    })();
    return released;
  };
  releases.add(release);
  return {
    backend,
    sql: (statement) => {
      const { sql, parameters } = compiler.statement(statement);
      return parameters.length ? `${sql}  -- ${parameters.map((p, i) => `$${i + 1}=${JSON.stringify(p)}`).join(', ')}` : sql;
    },
    release,
  };
}

/**
 * Runs `release` on Ctrl-C or SIGTERM, before the process exits with 130, for
 * PostgreSQL resources opened without `openPostgres`. Returns a function that
 * unregisters it.
 */
export function releaseOnInterrupt(release: () => Promise<void>): () => void {
  watchSignals();
  releases.add(release);
  return () => void releases.delete(release);
}

function watchSignals(): void {
  if (watching) return;
  watching = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write('Interrupted: dropping the run schema and stopping PostgreSQL.\n');
      void Promise.allSettled([...releases].map((release) => release())).then(() => process.exit(130));
    });
  }
}
