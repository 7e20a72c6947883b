import { loadavg } from 'node:os';

/** One worker against two, measured one way. */
export interface WorkersRates {
  readonly oneWorker: number;
  readonly twoWorkers: number;
  readonly speedup: number;
  /**
   * CPU time per run (this process's, all threads: the pool's and this one's)
   * with two workers over that with one: the split's own cost, which bounds
   * the speedup on two idle cores at 2 / this ratio whatever the load.
   */
  readonly cpuRatio: number;
}

/** What `workersSpeedup` measured: on kept pools (the figures at the top), and on new pools (`cold`). */
export interface WorkersSpeedup extends WorkersRates {
  /** Every call on a new pool, as a `lockstep explore --workers N` process has: each thread's start and JIT warm-up included. */
  readonly cold: WorkersRates;
  /** The reports (timing aside) were the same bytes. */
  readonly sameResults: boolean;
  /** The 1-minute load average before and after, and the cores. */
  readonly load: string;
}

/**
 * Runs per second of `exploreOnWorkers` with one worker thread and with two,
 * on random exploration of points-deduct for-update (2 to 4 transactions),
 * from the compiled package (`npm run bench` builds it first), in turns
 * (`rounds` of each, alternating, after a warm-up call of each); medians.
 * Wall time from the call to the report. Each turn runs the exploration on a
 * new pool (`closeWorkerPools` first: the threads' start and warm-up
 * included, as in a CLI process), then again on the pool that call left, as
 * a later exploration of the same process finds it.
 */
export async function workersSpeedup(runs: number, rounds = 3): Promise<WorkersSpeedup> {
  const dist = new URL('../dist/', import.meta.url);
  const { exploreOnWorkers } = (await import(new URL('explorer/parallel.js', dist).href)) as typeof import('../src/explorer/parallel.ts');
  const { closeWorkerPools } = (await import(new URL('explorer/worker-pool.js', dist).href)) as typeof import('../src/explorer/worker-pool.ts');
  const { scenarios } = (await import(new URL('model/scenarios/index.js', dist).href)) as typeof import('../src/model/scenarios/index.ts');
  const scenarioModule = new URL('model/scenarios/index.js', dist);
  const scenario = scenarios.find((s) => s.id === 'points-deduct')!;
  const options = { scenario, strategy: 'for-update', isolation: 'read-committed' as const, mode: 'random' as const, maxTransactions: 4, seed: 1 };
  const before = loadavg()[0];
  const bytes = (r: { stats: object }) => JSON.stringify({ ...r, stats: { ...r.stats, elapsedMs: 0, runsPerSecond: 0 } });
  const seen = new Set<string>();
  const rate = async (workers: number, n: number) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const report = await exploreOnWorkers({ ...options, runs: n, workers, scenarioModule });
    const used = process.cpuUsage(cpu);
    if (n === runs) seen.add(bytes(report));
    return { perSecond: n / ((performance.now() - started) / 1000), cpuPerRun: (used.user + used.system) / n };
  };
  await rate(1, runs / 10);
  await rate(2, runs / 10);
  const turns = { cold: [[], []] as { perSecond: number; cpuPerRun: number }[][], kept: [[], []] as { perSecond: number; cpuPerRun: number }[][] };
  for (let i = 0; i < rounds; i++) {
    for (const workers of [1, 2]) {
      await closeWorkerPools();
      turns.cold[workers - 1].push(await rate(workers, runs));
      turns.kept[workers - 1].push(await rate(workers, runs));
    }
  }
  await closeWorkerPools();
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const rates = ([one, two]: { perSecond: number; cpuPerRun: number }[][]): WorkersRates => {
    const [a, b] = [mid(one.map((t) => t.perSecond)), mid(two.map((t) => t.perSecond))];
    return { oneWorker: a, twoWorkers: b, speedup: b / a, cpuRatio: mid(two.map((t) => t.cpuPerRun)) / mid(one.map((t) => t.cpuPerRun)) };
  };
  const after = loadavg()[0];
  return {
    ...rates(turns.kept),
    cold: rates(turns.cold),
    sameResults: seen.size === 1,
    load: `load average ${before.toFixed(1)} before, ${after.toFixed(1)} after`,
  };
}
