import type { Schema } from '../../model/schema.ts';
import { createPostgresBackend, type PostgresBackend } from './postgres-backend.ts';
import { provisionPostgres } from './provision.ts';

/** A backend on a PostgreSQL server for one scenario schema, and how to let go of both. */
export interface PostgresTarget {
  readonly backend: PostgresBackend;
  /** Drops the run schema, closes every connection and stops an embedded server. Idempotent. */
  release(): Promise<void>;
}

/** Where PostgreSQL comes from, and when to give it up early. */
export interface PostgresTargetOptions {
  /** A PostgreSQL URL; else `DATABASE_URL`; else an embedded server. */
  readonly db?: string;
  /** When it aborts, everything opened is released at once (the caller's pending work then fails). */
  readonly signal?: AbortSignal;
}

/**
 * Connects to PostgreSQL (`db`, else `DATABASE_URL`, else an embedded server)
 * and creates a backend for `schema` in a schema of its own. Installs no
 * process handlers: the caller releases it, or aborts `signal`.
 *
 * ```ts
 * const target = await openPostgres(scenario.schema, { db: process.env.DATABASE_URL });
 * try { await replay(target.backend, plan, schedule); } finally { await target.release(); }
 * ```
 */
export async function openPostgres(schema: Schema, options: PostgresTargetOptions = {}): Promise<PostgresTarget> {
  const server = await provisionPostgres({ url: options.db, signal: options.signal });
  let backend: PostgresBackend;
  try {
    backend = await createPostgresBackend(server.url, schema, { signal: options.signal });
  } catch (e) {
    await server.stop();
    throw e;
  }
  let released: Promise<void> | undefined;
  let unwatch = () => {};
  const release = () => {
    released ??= (async () => {
      unwatch();
      try {
        await backend.close();
      } finally {
        await server.stop();
      }
    })();
    return released;
  };
  if (options.signal?.aborted) await release();
  else unwatch = releaseOnAbort(options.signal, release);
  return { backend, release };
}

/** Runs `release` when `signal` aborts; returns a function that stops watching. */
export function releaseOnAbort(signal: AbortSignal | undefined, release: () => Promise<void>): () => void {
  if (!signal) return () => {};
  // Its failure is the pending work's to report (or nobody's, after an interrupt): never an unhandled rejection.
  const onAbort = () => void release().catch(() => {});
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}
