import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The files that take most of a run, longest first (as measured on the
 * 2-core machine): the signal and fault tests, the parts of the conformance
 * property (properties/conformance.ts), the exhaustive search's soundness
 * checks and the in-memory property suite. Started first, so that the many
 * short files fill in behind them and both workers end at about the same time.
 */
const longFiles = [
  'test/faults.test.ts',
  'properties/conformance-others.test.ts',
  'properties/conformance-points-read-committed.test.ts',
  'test/explorer/exhaustive.test.ts',
  'properties/scenarios.test.ts',
  'properties/conformance-lots-rewards.test.ts',
  'properties/conformance-orders-queues.test.ts',
  'properties/conformance-points-serializable.test.ts',
  'properties/conformance-points-repeatable-read.test.ts',
  'test/parallel/worker-pool.test.ts',
  'test/postgres/provision.test.ts',
  'test/reports/browser.test.ts',
  'test/user-scenarios/user-scenarios-cli.test.ts',
];

/**
 * vitest orders files by the durations it recorded last time, else by size,
 * which on a fresh checkout (CI) starts the longest file, a small one, near
 * the end. These start first.
 */
class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const i = longFiles.findIndex((long) => file.moduleId.endsWith(`/${long}`));
      return i === -1 ? longFiles.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'properties/**/*.test.ts'],
    // Type tests (`*.test-d.ts`): what must and must not compile, checked by tsc as part of `npm test` (only they and
    // what they import: tsconfig.typetests.json; `npm run typecheck` checks every file).
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.typetests.json' },
    // One PostgreSQL server for the run (DATABASE_URL, else an embedded one), and a database of its own for each test file.
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/database-per-file.ts'],
    // Test files in child processes, two at a time (vitest's default on 2 cores is one). The conformance
    // property, most of a run, is split into six files (properties/conformance-*.test.ts) that both workers share.
    pool: 'forks',
    maxWorkers: 2,
    // Each worker process runs file after file with the modules it has already imported: importing src/ afresh for
    // every file took 44 s of a run's 2 × 160. No file changes process state it does not put back (DATABASE_URL is
    // set for each file by test/database-per-file.ts; runLockstep restores the environment it sets).
    isolate: false,
    sequence: { sequencer: LongFilesFirst },
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
