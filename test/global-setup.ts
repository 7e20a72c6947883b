import type { TestProject } from 'vitest/node';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The PostgreSQL server of this test run (DATABASE_URL, else the embedded server started here). */
    databaseUrl: string;
  }
}

/**
 * One PostgreSQL server for the whole test run: the one DATABASE_URL names
 * (checked by connecting), else one embedded server started here and
 * stopped when the run ends. Each test file gets a database of its own on it
 * (test/database-per-file.ts). A server that cannot be had fails the run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: Provisioned;
  try {
    server = await provisionPostgres();
  } catch (e) {
    throw new Error(`The tests need PostgreSQL: set DATABASE_URL or let them start an embedded server. ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  project.provide('databaseUrl', server.url);
  return () => server.stop();
}
