import { loadavg } from 'node:os';

/** What `workersSpeedup` measured. */
export interface WorkersSpeedup {
  readonly oneWorker: number;
  readonly twoWorkers: number;
  readonly speedup: number;
  /**
   * CPU time per run (this process's, all threads: the pool's and this one's)
   * with two workers over that with one: the split's own cost, which bounds
   * the speedup on two idle cores at 2 / this ratio whatever the load.
   */
  readonly cpuRatio: number;
  /** The reports (timing aside) were the same bytes. */
  readonly sameResults: boolean;
  /** The 1-minute load average before and after, and the cores. */
  readonly load: string;
}

/**
 * Runs per second of `exploreOnWorkers` with one worker thread and with two,
 * on random exploration of points-deduct for-update (2 to 4 transactions),
 * from the compiled package (`npm run bench` builds it first), in turns
 * (`rounds` of each, alternating, after a warm-up of each); medians. Wall
 * time from the call to the report, the pool's start included.
 */
export async function workersSpeedup(runs: number, rounds = 3): Promise<WorkersSpeedup> {
  const dist = new URL('../dist/', import.meta.url);
  const { exploreOnWorkers } = (await import(new URL('explorer/parallel.js', dist).href)) as typeof import('../src/explorer/parallel.ts');
  const { scenarios } = (await import(new URL('model/scenarios/index.js', dist).href)) as typeof import('../src/model/scenarios/index.ts');
  const scenarioModule = new URL('model/scenarios/index.js', dist);
  const scenario = scenarios.find((s) => s.id === 'points-deduct')!;
  const options = { scenario, strategy: 'for-update', isolation: 'read-committed' as const, mode: 'random' as const, maxTransactions: 4, seed: 1 };
  const before = loadavg()[0];
  const bytes = (r: { stats: object }) => JSON.stringify({ ...r, stats: { ...r.stats, elapsedMs: 0, runsPerSecond: 0 } });
  const rate = async (workers: number, n: number) => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    const report = await exploreOnWorkers({ ...options, runs: n, workers, scenarioModule });
    const used = process.cpuUsage(cpu);
    return { perSecond: n / ((performance.now() - started) / 1000), cpuPerRun: (used.user + used.system) / n, bytes: bytes(report) };
  };
  await rate(1, runs / 10);
  await rate(2, runs / 10);
  const one: number[] = [];
  const two: number[] = [];
  const cpuOne: number[] = [];
  const cpuTwo: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < rounds; i++) {
    const a = await rate(1, runs);
    const b = await rate(2, runs);
    one.push(a.perSecond);
    two.push(b.perSecond);
    cpuOne.push(a.cpuPerRun);
    cpuTwo.push(b.cpuPerRun);
    seen.add(a.bytes).add(b.bytes);
  }
  const mid = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const after = loadavg()[0];
  return {
    oneWorker: mid(one),
    twoWorkers: mid(two),
    speedup: mid(two) / mid(one),
    cpuRatio: mid(cpuTwo) / mid(cpuOne),
    sameResults: seen.size === 1,
    load: `load average ${before.toFixed(1)} before, ${after.toFixed(1)} after`,
  };
}
