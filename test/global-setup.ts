import type { TestProject } from 'vitest/node';
import { provisionPostgres, type Provisioned } from '../src/adapters/postgres/provision.ts';
import { buildIfStale } from './build.ts';
import { memoryFolder } from './memory-folder.ts';

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
 *
 * The embedded server keeps its data in memory (`/dev/shm`) when the machine
 * has room there (test/memory-folder.ts): the conformance properties truncate
 * tables before each of their thousands of replays, and on ext4 creating a
 * relation's new files after many deletions costs the server about 3 ms each
 * time, on tmpfs 0.5.
 *
 * Meanwhile it builds `dist/` when a source file is newer than the last
 * build: the tests of the process spawn the compiled bin (test/build.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const built = buildIfStale();
  let server: Provisioned;
  try {
    server = await provisionPostgres({ dataParent: memoryFolder() });
  } catch (e) {
    await built.catch(() => {});
    throw new Error(`The tests need PostgreSQL: set DATABASE_URL or let them start an embedded server. ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  try {
    await built;
  } catch (e) {
    await server.stop();
    throw e;
  }
  project.provide('databaseUrl', server.url);
  return () => server.stop();
}
