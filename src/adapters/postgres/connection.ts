import { performance } from 'node:perf_hooks';
import pg from 'pg';

/** How a connection of a run is opened. */
export interface ConnectionOptions {
  /** `application_name`, to find the connection in `pg_stat_activity`. */
  readonly applicationName: string;
  /** Send queries without waiting for earlier answers (node-postgres' pipeline mode). */
  readonly pipeline: boolean;
}

/** A connected client, and the connection error it met while connecting, if any (its `error` events are never unhandled). */
export interface OpenedClient {
  readonly client: pg.Client;
  /** The first error the connection emitted, until someone else listens. */
  readonly lost: () => Error | undefined;
}

/** Connects a client of a run; a client that fails to connect is ended before the error is thrown. */
export async function connectClient(config: pg.ClientConfig, options: ConnectionOptions): Promise<OpenedClient> {
  const client = new pg.Client({ ...config, application_name: options.applicationName, pipeline: options.pipeline });
  let lost: Error | undefined;
  client.on('error', (e) => {
    lost ??= e;
  });
  try {
    await client.connect();
  } catch (e) {
    await endClient(client);
    throw e;
  }
  return { client, lost: () => lost };
}

/** Terminates the backends `pids` names (none: nothing is sent). */
export async function terminateBackends(control: pg.Client, pids: readonly number[]): Promise<void> {
  if (pids.length > 0) await control.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
}

/** Whether `client` answers `select 1` within `ms` (false when it is busy with another query or its connection is gone). */
export async function answersWithin(client: pg.Client, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    client.query('select 1').then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return answered;
}

/**
 * Cleans up after a run whose own connections cannot (busy with a query
 * that never ends, or terminated): over a fresh connection, terminates the
 * backends `terminate` names, waits until they are gone from
 * `pg_stat_activity` (so that nothing they were creating can commit after
 * the drop), then drops `dropSchema`. Bounded: 5 s to connect, 10 s per
 * statement.
 */
export async function releaseOnServer(
  config: pg.ClientConfig,
  work: { readonly terminate: readonly number[]; readonly dropSchema?: string; /** A throwaway database: every backend on it is terminated, then it is dropped. */ readonly dropDatabase?: string },
): Promise<void> {
  const open = async (c: pg.ClientConfig) => {
    const client = new pg.Client({ ...c, application_name: 'lockstep-cleanup', connectionTimeoutMillis: 5000, statement_timeout: 10_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (e) {
      await endClient(client);
      throw e;
    }
  };
  // A throwaway database outlives the database it was made from (dropped meanwhile): it is dropped from the maintenance database then.
  const client = await open(config).catch(async (e: unknown) => {
    if (!(work.dropDatabase !== undefined && e instanceof pg.DatabaseError && e.code === '3D000' && config.connectionString !== undefined)) throw e;
    const url = new URL(config.connectionString);
    url.pathname = '/postgres';
    return open({ ...config, connectionString: url.toString() });
  });
  try {
    const pids = [...work.terminate];
    if (work.dropDatabase !== undefined) {
      const { rows } = await client.query('select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [work.dropDatabase]);
      pids.push(...rows.map((r) => r.pid as number));
    }
    if (pids.length > 0) {
      await client.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid where pid <> pg_backend_pid()', [pids]);
      const deadline = performance.now() + 5000;
      while (performance.now() < deadline) {
        const { rows } = await client.query('select count(*)::int as n from pg_stat_activity where pid = any($1::int[])', [pids]);
        if (rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    if (work.dropSchema !== undefined) await client.query(`drop schema if exists ${pg.escapeIdentifier(work.dropSchema)} cascade`);
    if (work.dropDatabase !== undefined) await client.query(`drop database if exists ${pg.escapeIdentifier(work.dropDatabase)}`);
  } finally {
    await endClient(client);
  }
}

/**
 * Ends a client and waits until its connection is closed (a terminated
 * backend's connection is closed by the server). A connection that does not
 * close in time has its socket destroyed.
 */
export async function endClient(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    client.end().then(
      () => false,
      () => false,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), 5000);
    }),
  ]);
  clearTimeout(timer);
  if (gaveUp) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}

/** The first line of an error's message, without a final period, to end a sentence with. */
export function reasonOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return (text.split('\n').find((l) => l.trim() !== '') ?? 'unknown error').trim().replace(/\.$/, '');
}

/** A connection that broke or a backend PostgreSQL terminated (57P01 and the like), not an error of the SQL. */
export function lostConnection(e: unknown): boolean {
  if (!(e instanceof pg.DatabaseError)) return true;
  return e.code === undefined || e.code.startsWith('57P') || e.code.startsWith('08');
}
