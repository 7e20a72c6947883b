import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError, InterruptedError } from '../../src/errors.ts';
import { explore, type ExploreOptions, type ExploreReport } from '../../src/explorer/explore.ts';
import { exploreOnWorkers, exploreShard, mergeShards, type ShardResult } from '../../src/explorer/parallel.ts';
import { counterUpsert } from '../../src/model/scenarios/counters.ts';
import { pointsDeduct, pointsMixed } from '../../src/model/scenarios/points.ts';
import { stampCard } from '../user-scenarios/fixtures/stamp-card.ts';
import { counter } from './fixtures/counter.mjs';

const hits = ['home', 'home', 'new', 'new'].map((key) => ({ operation: 'hit', args: { key } }));

const builtIn = fileURLToPath(new URL('../../src/model/scenarios/index.ts', import.meta.url));

/** A report as bytes, without the timing in its stats (the only part that may vary). */
function bytes(report: ExploreReport): string {
  const { elapsedMs: _e, runsPerSecond: _r, ...stats } = report.stats;
  return JSON.stringify({ ...report, stats });
}

/** Every shard of a split of `count`, each through a JSON file's round trip. */
async function shards(options: ExploreOptions, count: number): Promise<ShardResult[]> {
  const results: ShardResult[] = [];
  for (let index = 1; index <= count; index++) results.push(JSON.parse(JSON.stringify(await exploreShard({ ...options, shard: { index, count } }))));
  return results;
}

const cases: [string, ExploreOptions][] = [
  ['random, a lost update found at run 1', { scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 300, seed: 4, mode: 'random' }],
  ['random, passing', { scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', runs: 400, seed: 2, mode: 'random' }],
  ['pct', { scenario: pointsMixed, strategy: 'naive', isolation: 'read-committed', runs: 300, seed: 9, mode: 'pct', depth: 3 }],
  ['default', { scenario: pointsMixed, strategy: 'naive', isolation: 'repeatable-read', runs: 300, seed: 5 }],
  ['exhaustive, passing', { scenario: pointsDeduct, strategy: 'for-update', isolation: 'read-committed', runs: 1, seed: 1, mode: 'exhaustive', transactions: 3 }],
  ['exhaustive, failing', { scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1, seed: 1, mode: 'exhaustive', transactions: 3 }],
  // Interchangeable transactions (identical hits, two keys): one exhaustive unit per class.
  ['exhaustive, interchangeable, passing', { scenario: counterUpsert, strategy: 'upsert', isolation: 'read-committed', runs: 1, seed: 1, mode: 'exhaustive', workload: hits }],
  ['exhaustive, interchangeable, failing', { scenario: counterUpsert, strategy: 'naive', isolation: 'repeatable-read', runs: 1, seed: 1, mode: 'exhaustive', workload: hits }],
];

describe('the same report whatever the number of workers and shards', () => {
  for (const [name, options] of cases) {
    it(`${name}: 2 workers, and 1, 2, 3 and 7 shards merged, give the bytes of one process`, async () => {
      const one = bytes(explore(options));
      expect(bytes(await exploreOnWorkers({ ...options, workers: 2, scenarioModule: builtIn }))).toBe(one);
      for (const count of [1, 2, 3, 7]) expect(bytes(mergeShards(await shards(options, count)))).toBe(one);
    });
  }

  it('3 workers, and shards on 2 workers each, give the bytes of one process', async () => {
    const options: ExploreOptions = { scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 2000, seed: 11, mode: 'random', maxTransactions: 4 };
    const one = bytes(explore(options));
    expect(bytes(await exploreOnWorkers({ ...options, workers: 3, scenarioModule: builtIn }))).toBe(one);
    const results = [];
    for (let index = 1; index <= 2; index++) results.push(await exploreShard({ ...options, shard: { index, count: 2 }, workers: 2, scenarioModule: builtIn }));
    expect(bytes(mergeShards(results))).toBe(one);
  });

  it('the counts are those of one process: runs up to the first failure, exhaustive counts summed over units', async () => {
    const failing = explore(cases[0][1]);
    expect(failing.status).toBe('failed');
    expect(mergeShards(await shards(cases[0][1], 3)).stats).toMatchObject({ runs: failing.stats.runs, shrinks: failing.stats.shrinks });
    const proof = explore(cases[4][1]);
    expect(mergeShards(await shards(cases[4][1], 2)).stats).toMatchObject({
      runs: proof.stats.runs,
      schedules: proof.stats.schedules,
      traces: proof.stats.traces,
      naiveInterleavings: proof.stats.naiveInterleavings,
      complete: true,
    });
  });
});

describe('workers load user scenario modules', () => {
  it('a TypeScript module, through tsx', async () => {
    const options: ExploreOptions = { scenario: stampCard, strategy: 'naive', isolation: 'read-committed', runs: 200, seed: 3, mode: 'random' };
    const module = new URL('../user-scenarios/fixtures/stamp-card.ts', import.meta.url);
    const report = await exploreOnWorkers({ ...options, workers: 2, scenarioModule: module });
    expect(report.status).toBe('failed');
    expect(bytes(report)).toBe(bytes(explore(options)));
  });

  it('a JavaScript module, natively', async () => {
    const options: ExploreOptions = { scenario: counter, strategy: 'atomic', isolation: 'read-committed', runs: 300, seed: 1, mode: 'random' };
    const report = await exploreOnWorkers({ ...options, workers: 2, scenarioModule: fileURLToPath(new URL('./fixtures/counter.mjs', import.meta.url)) });
    expect(report).toMatchObject({ status: 'passed', stats: { runs: 300 } });
    expect(bytes(report)).toBe(bytes(explore(options)));
  });
});

describe('bad input is one sentence (InputError)', () => {
  const options: ExploreOptions = { scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1, mode: 'random' };

  const rejects = async (run: () => Promise<unknown> | unknown, sentence: string) => {
    let thrown: unknown;
    try {
      await run();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as Error).message).toBe(sentence);
  };

  it('workers 0, a relative scenario module, a module without the scenario', async () => {
    await rejects(() => exploreOnWorkers({ ...options, workers: 0, scenarioModule: builtIn }), 'workers must be a whole number of at least 1, not 0.');
    await rejects(
      () => exploreOnWorkers({ ...options, workers: 2, scenarioModule: './races.ts' }),
      `scenarioModule must be a file URL or an absolute path (new URL('./races.ts', import.meta.url)), not "./races.ts".`,
    );
    const module = fileURLToPath(new URL('./fixtures/counter.mjs', import.meta.url));
    await rejects(() => exploreOnWorkers({ ...options, workers: 1, scenarioModule: module }), `The scenario module ${module} exports no scenario with the id "points-deduct".`);
  });

  it('a time budget, and an interrupt (InterruptedError, exit 130 in the CLI)', async () => {
    await rejects(() => exploreOnWorkers({ ...options, maxTimeMs: 1000, workers: 2, scenarioModule: builtIn }), 'maxTimeMs does not combine with workers or shards: their parts must not depend on the clock.');
    const aborted = exploreOnWorkers({ ...options, strategy: 'for-update', runs: 1_000_000, workers: 2, scenarioModule: builtIn, signal: AbortSignal.timeout(300) });
    await expect(aborted).rejects.toThrow(new InterruptedError('Interrupted: lockstep stopped handing out work to its worker threads.'));
  });

  it('shard 3 of 2, and a shard on workers without its module', async () => {
    await rejects(() => exploreShard({ ...options, shard: { index: 3, count: 2 } }), 'A shard is i/n with whole numbers 1 <= i <= n, not 3/2.');
    await rejects(() => exploreShard({ ...options, shard: { index: 1, count: 2 }, workers: 2 }), 'Give both workers and scenarioModule to run a shard on worker threads.');
  });

  it('merging shards of different seeds, of different splits, twice the same shard, a missing shard, or no shard', async () => {
    const passing: ExploreOptions = { ...options, strategy: 'for-update' };
    const [a1, a2] = await shards(passing, 2);
    const [, b2] = await shards({ ...passing, seed: 2 }, 2);
    const [c1] = await shards(passing, 3);
    const names = ['a1.json', 'x.json'];
    await rejects(() => mergeShards([a1, b2], names), 'x.json is a shard of another exploration than a1.json: seed 2, not 1.');
    await rejects(() => mergeShards([a1, c1], names), 'x.json is shard 1/3 and a1.json shard 1/2: merge the shards of one split.');
    await rejects(() => mergeShards([a1, a1], names), 'a1.json and x.json are both shard 1/2.');
    await rejects(() => mergeShards([a2]), 'Shard 1/2 is missing; merge needs every shard of the split.');
    await rejects(() => mergeShards([]), 'Give the result files of every shard to merge.');
    await rejects(() => mergeShards([{ seed: 1 } as unknown as ShardResult], ['cx.json']), 'cx.json is not a shard result (lockstep explore --shard writes them).');
  });

  it('shards after the first failure may be missing: one process would not have run them', async () => {
    const [first] = await shards(options, 2);
    expect(first.result.failure).toBeDefined();
    expect(bytes(mergeShards([first]))).toBe(bytes(explore(options)));
  });
});
