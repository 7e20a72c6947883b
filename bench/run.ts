import { cliStart } from './cli-start.ts';
import { fcSchedulerRunsPerSecond, lockstepRunsPerSecond, memoryOverRuns, serializableVersusReadCommitted } from './exploration.ts';
import { fcSchedulerRunsToFailure, lockstepRunsToFailure, median, uniformFailureRate } from './narrow-race.ts';
import { exhaustiveRows, exhaustiveSchedulesPerSecond, fcSchedulerShrinkQuality, lockstepShrinkQuality } from './search.ts';
import { workersSpeedup } from './workers.ts';

/**
 * `npm run bench`: lockstep's speed targets, measured in one run and printed
 * side by side with fast-check's own scheduler. Numbers, never assertions.
 */
const rows: [string, string, string][] = [];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const start = cliStart();
rows.push(['CLI start: node bin/lockstep.js list (median of 15)', `${start.list.toFixed(3)} s`, `target <= 0.3 s; node -e 0 takes ${start.node.toFixed(3)} s in the same run`]);
rows.push(['CLI start: node bin/lockstep.js --help (median of 15)', `${start.help.toFixed(3)} s`, `${(start.help / start.node).toFixed(1)}x node -e 0`]);

const random = lockstepRunsPerSecond(4, 200_000);
rows.push(['random exploration, points-deduct for-update, 2-4 txs', `${fmt(random)} runs/s`, 'target >= 50,000 runs/s on one core']);

const levels = serializableVersusReadCommitted(4, 50_000);
rows.push([
  'random exploration, points-deduct for-update, 2-4 txs, serializable',
  `${fmt(levels.serializable)} runs/CPU-s`,
  `${levels.ratio.toFixed(2)}x read committed's ${fmt(levels.readCommitted)} runs/CPU-s, in turns in the same run (target >= 0.5x)`,
]);

const spread = await workersSpeedup(400_000);
const bound = (cpuRatio: number) => `CPU per run ${cpuRatio.toFixed(2)}x one worker's, at most ${(2 / cpuRatio).toFixed(2)}x on 2 idle cores`;
rows.push([
  'random exploration, points-deduct for-update, 2-4 txs, 2 workers',
  `${fmt(spread.twoWorkers)} runs/s`,
  `${spread.speedup.toFixed(2)}x one worker's ${fmt(spread.oneWorker)} runs/s on the pool kept from the call before (target >= 1.7x); ${bound(spread.cpuRatio)}; ${spread.sameResults ? 'same reports' : 'REPORTS DIFFER'}; ${spread.load}`,
]);
rows.push([
  'the same on a new pool (as a lockstep explore --workers 2 process)',
  `${fmt(spread.cold.twoWorkers)} runs/s`,
  `${spread.cold.speedup.toFixed(2)}x one worker's ${fmt(spread.cold.oneWorker)} runs/s, each thread's start and warm-up included; ${bound(spread.cold.cpuRatio)}`,
]);

const two = lockstepRunsPerSecond(2, 200_000);
const scheduler = await fcSchedulerRunsPerSecond(20_000);
rows.push(['two-transaction read-modify-write race: lockstep', `${fmt(two)} runs/s`, '']);
rows.push(['two-transaction read-modify-write race: fc.scheduler', `${fmt(scheduler)} runs/s`, `lockstep is ${(two / scheduler).toFixed(1)}x (target >= 3x)`]);
const exhaustiveRate = exhaustiveSchedulesPerSecond(2_000);
rows.push(['two-transaction read-modify-write race: lockstep exhaustive', `${fmt(exhaustiveRate)} schedules/s`, 'every trace of points-deduct naive, 2 txs (10 schedules per search)']);

const pct = (x: number) => `${Math.round(x * 100)}%`;
const seeds = Array.from({ length: 100 }, (_, i) => i + 1);
const narrowLockstep = median(seeds.map(lockstepRunsToFailure));
const narrowScheduler: number[] = [];
for (const seed of seeds) narrowScheduler.push(await fcSchedulerRunsToFailure(seed));
const rate = uniformFailureRate(50_000, 1);
rows.push(['narrow race (refresh rotation, 1 in ' + fmt(1 / rate) + ' uniform): lockstep default', `median ${narrowLockstep} runs to failure`, 'over 100 seeds; target <= 20']);
rows.push(['narrow race: fc.scheduler', `median ${median(narrowScheduler)} runs to failure`, 'over 100 seeds, same transactions on the same engine']);

const shrinkLockstep = lockstepShrinkQuality(200);
const shrinkScheduler = await fcSchedulerShrinkQuality(200);
rows.push(['shrink quality, points-deduct naive 2-6 txs: lockstep', `${pct(shrinkLockstep)} end at 2 txs, 1 preemption`, 'over 200 seeds; target 100%']);
rows.push(['shrink quality: fc.scheduler', `${pct(shrinkScheduler)} end at 2 txs, 1 preemption`, 'fast-check shrinks the workload, not the interleaving']);

rows.push(...exhaustiveRows(fmt));

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
  try {
    const { measureStressAgainstPgbench } = await import('./stress.ts');
    const bench = await measureStressAgainstPgbench();
    for (const c of bench.comparisons) {
      rows.push([
        `stress vs pgbench: atomic deduction, ${c.label}, ${c.clients} clients`,
        `${fmt(c.lockstepTps)} vs ${fmt(c.pgbenchTps)} tps (${c.ratio.toFixed(2)})`,
        `target >= 0.7; plain node-postgres ${fmt(c.nodePostgresTps)} tps (lockstep ${c.ratioToNodePostgres.toFixed(2)} of it); medians of 3 turns of ${c.seconds} s, synchronous_commit ${bench.synchronousCommit}, ${bench.cores} cores shared`,
      ]);
    }
    rows.push([
      'stress: lockstep time per operation over pgbench (1 client)',
      `${bench.overheadPerOperationMs.toFixed(3)} ms`,
      `over plain node-postgres ${bench.overheadOverNodePostgresMs.toFixed(3)} ms; client time holding the connection ${bench.comparisons[0].lockstepClientMs.toFixed(3)} ms/op`,
    ]);
  } catch (e) {
    rows.push(['stress vs pgbench', 'not run', (e as Error).message.split('\n')[0]]);
  }
}

const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((cell, i) => cell.padEnd(widths[i])).join('  |  ').trimEnd());
