import { pathToFileURL } from 'node:url';
import { createPostgresBackend } from '../src/adapters/postgres/postgres-backend.ts';
import { provisionPostgres } from '../src/adapters/postgres/provision.ts';
import { runOnBackend, type RunPlan } from '../src/explorer/runner.ts';
import { choiceSchedule } from '../src/explorer/schedule.ts';
import { pointsDeduct } from '../src/model/scenarios/points.ts';
import type { Tables } from '../src/model/schema.ts';
import type { Statement } from '../src/model/statement.ts';

/** What the PostgreSQL side costs: how fast a step learns it is blocked, and how many short replays run per second. */
export interface PostgresLatency {
  /** Median time from sending a statement that blocks to the step returning "blocked". Target <= 5 ms. */
  readonly blockDetectMedianMs: number;
  /** Replays per second of points-deduct naive, 2 transactions, 8 steps, reset before each. Target >= 100/s. */
  readonly replaysPerSecond: number;
  /** The server measured, e.g. `PostgreSQL 17.6`. */
  readonly database: string;
}

/**
 * Measures the PostgreSQL backend on the embedded server (or `DATABASE_URL`).
 * Numbers for `npm run bench`, never assertions.
 */
export async function measurePostgresLatency(options: { blocks?: number; replays?: number } = {}): Promise<PostgresLatency> {
  const blocks = options.blocks ?? 200;
  const replays = options.replays ?? 500;
  const server = await provisionPostgres();
  const backend = await createPostgresBackend(server.url, pointsDeduct.schema, { applicationName: 'lockstep-bench' });
  try {
    const seed = pointsDeduct.seed as Tables;
    const lock: Statement = { kind: 'select', table: 'accounts', where: { id: 1 }, lock: 'update' };
    const samples: number[] = [];
    for (let i = 0; i < blocks + 20; i++) {
      await backend.reset(seed, 'read-committed');
      await backend.step(1, lock);
      const started = performance.now();
      const events = await backend.step(2, lock);
      const elapsed = performance.now() - started;
      if (events[0]?.kind !== 'blocked') throw new Error(`expected T2 to block, got ${JSON.stringify(events)}`);
      if (i >= 20) samples.push(elapsed);
      await backend.step(1, { kind: 'rollback' });
      await backend.step(2, { kind: 'rollback' });
    }
    samples.sort((a, b) => a - b);

    const spec: RunPlan = {
      scenario: pointsDeduct,
      strategy: pointsDeduct.strategies.naive,
      isolation: 'read-committed',
      workload: [
        { operation: 'deduct', args: { user: 1, amount: 300 } },
        { operation: 'deduct', args: { user: 1, amount: 300 } },
      ],
    };
    for (let i = 0; i < 50; i++) await runOnBackend(backend, spec, choiceSchedule([0, 1]));
    const started = performance.now();
    for (let i = 0; i < replays; i++) {
      const trace = await runOnBackend(backend, spec, choiceSchedule([0, 1]));
      if (trace.steps.length !== 8) throw new Error(`expected 8 steps, got ${trace.steps.length}`);
    }
    const seconds = (performance.now() - started) / 1000;
    return { blockDetectMedianMs: samples[Math.floor(samples.length / 2)], replaysPerSecond: replays / seconds, database: backend.name };
  } finally {
    await backend.close();
    await server.stop();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await measurePostgresLatency();
  console.log(`${result.database}: block detected in ${result.blockDetectMedianMs.toFixed(2)} ms (median), ${Math.round(result.replaysPerSecond)} replays/s`);
}
