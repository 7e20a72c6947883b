import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';

/**
 * A database of its own for a stress test file, on the test run's server
 * (DATABASE_URL when set, else an embedded server): whatever schema or
 * connection is left in it after a run was left by that run.
 */
export interface StressDatabase {
  readonly url: string;
  /** Run schemas (`lockstep_*`) and connections of stress runs (`lockstep-stress-*`) in the database now. */
  leftovers(): Promise<{ schemas: number; connections: number }>;
  /** The database's connections right now, by application name pattern. */
  connections(pattern: string): Promise<number>;
  drop(): Promise<void>;
}

export async function createStressDatabase(): Promise<StressDatabase> {
  const server: Provisioned = await provisionPostgres();
  const name = `lockstep_stress_${randomBytes(5).toString('hex')}`;
  await onServer(server.url, `create database "${name}"`);
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const admin = new pg.Client({ connectionString: url.toString(), application_name: 'lockstep-test-admin' });
  await admin.connect();
  const connections = async (pattern: string) =>
    (await admin.query('select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like $1', [pattern])).rows[0].n as number;
  return {
    url: url.toString(),
    connections,
    leftovers: async () => ({
      schemas: (await admin.query("select count(*)::int as n from pg_namespace where nspname like 'lockstep\\_%'")).rows[0].n as number,
      connections: await connections('lockstep-stress-%'),
    }),
    drop: async () => {
      await admin.end();
      await onServer(server.url, `drop database if exists "${name}" with (force)`);
      await server.stop();
    },
  };
}

async function onServer(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'lockstep-test-setup' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
