/** A PostgreSQL server for replays: its URL, version, and how to let go of it. */
export interface PostgresServer {
  /** Connection URL to pass as `replay(cx, { db: server.url })`. */
  readonly url: string;
  /** The server's version, e.g. `17.10`. */
  readonly version: string;
  /** Stops an embedded server and removes its data folder; does nothing for a server given by URL. Idempotent. */
  stop(): Promise<void>;
}

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
export async function startPostgres(options: { db?: string } = {}): Promise<PostgresServer> {
  const { provisionPostgres } = await import('./provision.ts');
  return provisionPostgres({ url: options.db });
}
