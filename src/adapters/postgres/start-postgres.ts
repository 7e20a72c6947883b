import type { Provisioned } from './provision.ts';

/** A PostgreSQL server for replays: `url` to pass as `replay(cx, { db: server.url })`, its `version`, and `stop()`. */
export type PostgresServer = Provisioned;

/**
 * The PostgreSQL server `replay` would use (`db`, else `DATABASE_URL`, else
 * an embedded server on a free loopback port, data in the temp folder),
 * started once so that many replays share it.
 *
 * ```ts
 * const server = await startPostgres();
 * try {
 *   for (const cx of counterexamples) await replay(cx, { db: server.url });
 * } finally {
 *   await server.stop();
 * }
 * ```
 */
export async function startPostgres(options: { db?: string; signal?: AbortSignal } = {}): Promise<PostgresServer> {
  const { provisionPostgres } = await import('./provision.ts');
  return provisionPostgres({ url: options.db, signal: options.signal });
}
