import { fcSchedulerRunsPerSecond, lockstepRunsPerSecond, memoryOverRuns } from './exploration.ts';

/**
 * `npm run bench`: lockstep's speed targets, measured in one run and printed
 * side by side with fast-check's own scheduler. Numbers, never assertions.
 */
const rows: [string, string, string][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const random = lockstepRunsPerSecond(4, 200_000);
rows.push(['random exploration, points-deduct for-update, 2-4 txs', `${fmt(random)} runs/s`, 'target >= 50,000 runs/s on one core']);

const two = lockstepRunsPerSecond(2, 200_000);
const scheduler = await fcSchedulerRunsPerSecond(20_000);
rows.push(['two-transaction read-modify-write race: lockstep', `${fmt(two)} runs/s`, '']);
rows.push(['two-transaction read-modify-write race: fc.scheduler', `${fmt(scheduler)} runs/s`, `lockstep is ${(two / scheduler).toFixed(1)}x (target >= 3x)`]);

const memory = memoryOverRuns(1_000_000, 100_000);
rows.push(['RSS over 1,000,000 runs (every 100,000)', `${memory.samplesMiB.join(' ')} MiB`, `peak ${memory.peakMiB} MiB`]);

if (process.env.LOCKSTEP_BENCH_POSTGRES !== '0') {
  try {
    const { measurePostgresLatency } = await import('./postgres-latency.ts');
    const pg = await measurePostgresLatency();
    rows.push(['PostgreSQL: statement blocks -> runner knows (median)', `${pg.blockDetectMedianMs.toFixed(2)} ms`, 'target <= 5 ms']);
    rows.push(['PostgreSQL: replays of a 2-tx 8-step schedule', `${fmt(pg.replaysPerSecond)} /s`, 'target >= 100/s']);
  } catch (e) {
    rows.push(['PostgreSQL benchmarks', 'not run', (e as Error).message.split('\n')[0]]);
  }
}

const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join('  |  ').trimEnd());
