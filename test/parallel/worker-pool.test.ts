import { fileURLToPath } from 'node:url';
import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DefinitionError, InterruptedError } from '../../src/errors.ts';
import { explore, type ExploreOptions, type ExploreReport } from '../../src/explorer/explore.ts';
import { exploreOnWorkers } from '../../src/explorer/parallel.ts';
import { closeWorkerPools, workerPool } from '../../src/explorer/worker-pool.ts';
import { pointsDeduct } from '../../src/model/scenarios/points.ts';
import { brittleCounter } from './fixtures/brittle-counter.ts';

const scenarioModule = fileURLToPath(new URL('../../src/model/scenarios/index.ts', import.meta.url));

/** A report as bytes, without the timing in its stats. */
function bytes(report: ExploreReport): string {
  const { elapsedMs: _e, runsPerSecond: _r, ...stats } = report.stats;
  return JSON.stringify({ ...report, stats });
}

const threadIds = (threads: number) => workerPool(threads).threads.map((t) => t.threadId).sort((a, b) => a - b);

const passing: ExploreOptions = { scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', runs: 600, seed: 3, mode: 'random', maxTransactions: 4 };
// Fails in its first chunk of 2,000 runs, while the other thread runs the second.
const failing: ExploreOptions = { scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100_000, seed: 4, mode: 'random', maxTransactions: 4 };

describe('the pool of worker threads is kept between explorations', () => {
  it('later explorations run on the same threads, each with the bytes of one process, the same options again too, and a failing one keeps them', async () => {
    await closeWorkerPools();
    expect(bytes(await exploreOnWorkers({ ...passing, workers: 2, scenarioModule }))).toBe(bytes(explore(passing)));
    const threads = threadIds(2);
    expect(threads).toHaveLength(2);
    // Six seeds, more than a thread keeps prepared, then the first again: each thread's parts come from what it kept or prepared anew.
    for (const seed of [4, 5, 6, 7, 8, 3]) {
      const options = { ...passing, seed };
      expect(bytes(await exploreOnWorkers({ ...options, workers: 2, scenarioModule }))).toBe(bytes(explore(options)));
    }
    // Twice: the second time both threads have it prepared, and the first chunk fails at once while the second runs on.
    for (let i = 0; i < 2; i++) {
      const report = await exploreOnWorkers({ ...failing, workers: 2, scenarioModule });
      expect(report).toMatchObject({ status: 'failed', stats: { runs: 1 } });
      expect(bytes(report)).toBe(bytes(explore(failing)));
    }
    expect(threadIds(2)).toEqual(threads);
  });

  it("a program's error is reported by every exploration on a kept thread, not only the first", async () => {
    const brittle: ExploreOptions = { scenario: brittleCounter, strategy: 'atomic', isolation: 'read-committed', runs: 3000, seed: 1, mode: 'random' };
    const module = fileURLToPath(new URL('./fixtures/brittle-counter.ts', import.meta.url));
    const alone = (() => {
      try {
        explore(brittle);
      } catch (e) {
        return e;
      }
    })();
    expect(alone).toBeInstanceOf(DefinitionError);
    for (let i = 0; i < 2; i++) await expect(exploreOnWorkers({ ...brittle, workers: 1, scenarioModule: module })).rejects.toThrow(new DefinitionError((alone as Error).message));
  });

  it('one worker has its own pool of one thread', async () => {
    expect(bytes(await exploreOnWorkers({ ...failing, workers: 1, scenarioModule }))).toBe(bytes(explore(failing)));
    expect(workerPool(1).threads).toHaveLength(1);
    expect(workerPool(1)).not.toBe(workerPool(2));
  });

  it('an interrupt leaves the chunks of runs running to end, on threads kept for the next exploration, which gives the bytes of one process', async () => {
    await exploreOnWorkers({ ...passing, workers: 2, scenarioModule });
    const before = threadIds(2);
    const aborted = exploreOnWorkers({ ...passing, runs: 1_000_000, workers: 2, scenarioModule, signal: AbortSignal.timeout(300) });
    await expect(aborted).rejects.toThrow(new InterruptedError('Interrupted: lockstep stopped handing out work to its worker threads.'));
    expect(bytes(await exploreOnWorkers({ ...passing, workers: 2, scenarioModule }))).toBe(bytes(explore(passing)));
    expect(threadIds(2)).toEqual(before);
  });

  it('an interrupt stops the threads running exhaustive units; the next exploration starts others', async () => {
    const exhaustive: ExploreOptions = { scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', runs: 1, seed: 1, mode: 'exhaustive', transactions: 3 };
    expect(bytes(await exploreOnWorkers({ ...exhaustive, workers: 2, scenarioModule }))).toBe(bytes(explore(exhaustive)));
    const before = threadIds(2);
    // Eight deductions of different amounts (not interchangeable): eight long units.
    const eight = Array.from({ length: 8 }, (_, i) => ({ operation: 'deduct', args: { user: 1, amount: 300 * (i + 1) } }));
    const aborted = exploreOnWorkers({ ...exhaustive, transactions: undefined, workload: eight, workers: 2, scenarioModule, signal: AbortSignal.timeout(300) });
    await expect(aborted).rejects.toThrow(new InterruptedError('Interrupted: lockstep stopped handing out work to its worker threads.'));
    expect(bytes(await exploreOnWorkers({ ...exhaustive, workers: 2, scenarioModule }))).toBe(bytes(explore(exhaustive)));
    expect(threadIds(2).filter((id) => before.includes(id))).toEqual([]);
  });

  it('a kept thread of the compiled package evaluates a TypeScript scenario module once, whatever the explorations of it', async () => {
    // The compiled package (npm run build), as users run it: its threads load TypeScript through tsx's tsImport, which evaluates a module again on every call.
    const lockstep = await import('lockstep');
    const { scenarios } = await import('lockstep/scenarios');
    const scenario = scenarios.find((s) => s.id === 'points-deduct')!;
    const channel = new BroadcastChannel('lockstep-test-scenario-module-evaluations');
    let evaluations = 0;
    channel.onmessage = () => void evaluations++;
    try {
      const module = new URL('./fixtures/evaluations.ts', import.meta.url);
      for (const seed of [1, 2, 3]) {
        const options = { ...passing, scenario, runs: 4000, seed };
        expect(bytes(await lockstep.exploreOnWorkers({ ...options, workers: 2, scenarioModule: module }))).toBe(bytes(lockstep.explore(options)));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(evaluations).toBe(2);
    } finally {
      channel.close();
      await lockstep.closeWorkerPools();
    }
  });

  it('closeWorkerPools stops every thread; the next exploration starts a new pool', async () => {
    await exploreOnWorkers({ ...passing, workers: 2, scenarioModule });
    const pool = workerPool(2);
    await closeWorkerPools();
    expect(pool.threads).toHaveLength(0);
    expect(workerPool(2)).not.toBe(pool);
    expect(bytes(await exploreOnWorkers({ ...passing, workers: 2, scenarioModule }))).toBe(bytes(explore(passing)));
    await closeWorkerPools();
  });
});
