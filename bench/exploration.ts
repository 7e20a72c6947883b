import * as fc from 'fast-check';
import { explore } from '../src/explorer/explore.ts';
import { pointsDeduct } from '../src/model/scenarios/points.ts';
import type { IsolationLevel } from '../src/model/transaction.ts';

/** Runs per second of lockstep's random exploration of points-deduct (2 to `maxTransactions` transactions) under a safe strategy, after warm-up. */
export function lockstepRunsPerSecond(maxTransactions: number, runs: number, isolation: IsolationLevel = 'read-committed'): number {
  explore({ scenario: pointsDeduct, strategy: 'for-update', isolation, mode: 'random', runs: 20_000, seed: 99, maxTransactions });
  const started = performance.now();
  explore({ scenario: pointsDeduct, strategy: 'for-update', isolation, mode: 'random', runs, seed: 1, maxTransactions });
  return runs / ((performance.now() - started) / 1000);
}

/** Runs per second of CPU time (this process's, all threads) of the same exploration as `lockstepRunsPerSecond`, after warm-up. */
function lockstepRunsPerCpuSecond(maxTransactions: number, runs: number, isolation: IsolationLevel): number {
  explore({ scenario: pointsDeduct, strategy: 'for-update', isolation, mode: 'random', runs: 20_000, seed: 99, maxTransactions });
  const started = process.cpuUsage();
  explore({ scenario: pointsDeduct, strategy: 'for-update', isolation, mode: 'random', runs, seed: 1, maxTransactions });
  const used = process.cpuUsage(started);
  return runs / ((used.user + used.system) / 1e6);
}

/**
 * Runs per CPU second of the same exploration under serializable and under
 * read committed, measured in turns (`rounds` of each, alternating); the
 * ratio is of the medians. CPU time rather than wall time: on a shared
 * machine other processes take turns on the cores, which wall time would
 * charge to whichever level happened to run then.
 */
export function serializableVersusReadCommitted(maxTransactions: number, runs: number, rounds = 3): { serializable: number; readCommitted: number; ratio: number } {
  const ser: number[] = [];
  const rc: number[] = [];
  for (let i = 0; i < rounds; i++) {
    rc.push(lockstepRunsPerCpuSecond(maxTransactions, runs, 'read-committed'));
    ser.push(lockstepRunsPerCpuSecond(maxTransactions, runs, 'serializable'));
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const serializable = mid(ser);
  const readCommitted = mid(rc);
  return { serializable, readCommitted, ratio: serializable / readCommitted };
}

/**
 * Runs per second of fast-check's own `fc.scheduler` driving the same
 * two-transaction read-modify-write race: two deductions that each await a
 * scheduled read, a scheduled write, a scheduled history insert and a
 * scheduled commit, with the same balance check afterwards.
 */
export async function fcSchedulerRunsPerSecond(runs: number): Promise<number> {
  const property = fc.asyncProperty(fc.scheduler(), async (s) => {
    let balance = 3000;
    const history: number[] = [];
    const deduct = async (amount: number) => {
      const read = await s.schedule(Promise.resolve(balance), 'select');
      if (read < amount) {
        await s.schedule(Promise.resolve(), 'rollback');
        return 'insufficient';
      }
      await s.schedule(Promise.resolve(), 'update');
      balance = read - amount;
      await s.schedule(Promise.resolve(), 'insert');
      history.push(-amount);
      await s.schedule(Promise.resolve(), 'commit');
      return 'ok';
    };
    await s.waitFor(Promise.all([deduct(300), deduct(300)]));
    return balance + history.length >= 0; // throughput only: both sides run every schedule to the end
  });
  await fc.assert(property, { numRuns: 2_000, seed: 99 });
  const started = performance.now();
  await fc.assert(property, { numRuns: runs, seed: 1 });
  return runs / ((performance.now() - started) / 1000);
}

/** Peak and sampled resident memory while exploring `total` runs in chunks: flat memory means nothing accumulates per run. */
export function memoryOverRuns(total: number, chunk: number): { samplesMiB: number[]; peakMiB: number } {
  const samplesMiB: number[] = [];
  for (let done = 0, seed = 1; done < total; done += chunk, seed++) {
    explore({ scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', mode: 'random', runs: chunk, seed });
    samplesMiB.push(Math.round(process.memoryUsage().rss / 2 ** 20));
  }
  return { samplesMiB, peakMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
}
