/**
 * A setup file (vitest.config.ts): every test file gets a database of its
 * own on the run's PostgreSQL server (test/global-setup.ts), and
 * DATABASE_URL points at it while the file runs, so `provisionPostgres()`
 * in a test returns it. Files running at the same time then see neither
 * each other's tables nor each other's lockstep schemas. It is dropped when
 * the file ends.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';

const serverUrl = inject('databaseUrl');
const name = `lockstep_test_${randomBytes(6).toString('hex')}`;

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: 'lockstep-test-setup' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

try {
  await onServer(`create database "${name}"`);
} catch (e) {
  throw new Error(`Cannot create the test file's database on the PostgreSQL server of this run (DATABASE_URL needs the CREATEDB privilege): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
const url = new URL(serverUrl);
url.pathname = `/${name}`;
process.env.DATABASE_URL = url.toString();

afterAll(async () => {
  await onServer(`drop database if exists "${name}" with (force)`);
});
