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
  /** Run schemas (`lockstep_*`) and connections of stress runs (`lockstep-stress-*`) left in the database (0 and 0 as soon as they are, else after 2 s). */
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
    // A backend leaves pg_stat_activity a moment after its client closed the connection: look again for up to 2 s.
    leftovers: async () => {
      for (let i = 0; ; i++) {
        const left = {
          schemas: (await admin.query("select count(*)::int as n from pg_namespace where nspname like 'lockstep\\_%'")).rows[0].n as number,
          connections: await connections('lockstep-stress-%'),
        };
        if ((left.schemas === 0 && left.connections === 0) || i === 100) return left;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
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
