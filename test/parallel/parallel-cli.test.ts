import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLockstep } from '../lockstep-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-parallel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lockstep = (...args: string[]) => runLockstep(args, { cwd: dir });

/** `--json` output without the timing in its stats. */
function withoutTiming(stdout: string): unknown {
  const report = JSON.parse(stdout);
  delete report.stats.elapsedMs;
  delete report.stats.runsPerSecond;
  return report;
}

/** Text output without the timing line of a passed exploration. */
const textWithoutTiming = (stdout: string) => stdout.replace(/^ {2}\d+ runs\/s in \d+ ms\n/m, '');

describe('lockstep explore --workers', () => {
  it('prints what one process prints, failing: the same counterexample, byte for byte, and the same rerun command', async () => {
    const args = ['explore', 'points-deduct', '--strategy', 'naive', '--runs', '500', '--seed', '7'];
    const one = await lockstep(...args);
    const two = await lockstep(...args, '--workers', '2');
    expect(one.code).toBe(1);
    expect(two).toEqual(one);
    expect(two.stdout).toContain('Rerun: npx lockstep explore points-deduct --strategy naive --isolation read-committed --runs 500 --seed 7\n');
  });

  it('--json is the same apart from timing, passing, for a scenario of a --scenarios file', async () => {
    const file = relative(dir, join(import.meta.dirname, '..', 'user-scenarios', 'fixtures', 'stamp-card.ts'));
    const args = ['explore', 'stamp-card', '--scenarios', file, '--strategy', 'atomic', '--mode', 'random', '--runs', '300', '--json'];
    const one = await lockstep(...args);
    const two = await lockstep(...args, '--workers', '2');
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(withoutTiming(two.stdout)).toEqual(withoutTiming(one.stdout));
    expect(withoutTiming(two.stdout)).toMatchObject({ scenario: 'stamp-card', status: 'passed', stats: { runs: 300, shrinks: 0 } });
  });
});

describe('lockstep explore --shard i/n and lockstep merge', () => {
  it('random search: three shards merge into what one process prints, exit 1 for the shard that found the race', async () => {
    const args = ['explore', 'points-deduct', '--strategy', 'naive', '--mode', 'random', '--runs', '300', '--seed', '4'];
    const one = await lockstep(...args);
    const shard1 = await lockstep(...args, '--shard', '1/3');
    expect(shard1).toEqual({
      code: 1,
      stdout:
        'Shard 1/3 of points-deduct · naive · read-committed (seed 4): runs 0 to 99 of 300, a violation at run 0.\n' +
        'Wrote shard-1-of-3.json; combine every shard with: npx lockstep merge <the 3 shard files>\n',
      stderr: '',
    });
    expect((await lockstep(...args, '--shard', '2/3', '--shard-out', 'second.json')).code).toBe(1);
    expect((await lockstep(...args, '--shard', '3/3', '--workers', '2')).code).toBe(1);
    const merged = await lockstep('merge', 'shard-1-of-3.json', 'second.json', 'shard-3-of-3.json');
    expect(merged).toEqual(one);
    const json = await lockstep('merge', 'shard-3-of-3.json', 'second.json', 'shard-1-of-3.json', '--json', '--out', 'cx.json');
    expect(json.code).toBe(1);
    expect(withoutTiming(json.stdout)).toEqual(withoutTiming((await lockstep(...args, '--json')).stdout));
    expect(JSON.parse(readFileSync(join(dir, 'cx.json'), 'utf8'))).toMatchObject({ scenario: 'points-deduct', strategy: 'naive', seed: 4, preemptions: 1 });
  });

  it('exhaustive search: a shard per unit, passing, merges into the same proof', async () => {
    // Three workers claiming jobs: one unit per worker's first step (workers with the same arguments would share one).
    const args = ['explore', 'job-queue', '--strategy', 'for-update', '--mode', 'exhaustive', '--txs', '3'];
    const one = await lockstep(...args);
    const shard = await lockstep(...args, '--shard', '2/3', '--shard-out', 'ex-2.json');
    expect(shard).toEqual({
      code: 0,
      stdout:
        'Shard 2/3 of job-queue · for-update · read-committed (seed 1): units 1 to 1 of 3, no violation.\n' +
        'Wrote ex-2.json; combine every shard with: npx lockstep merge <the 3 shard files>\n',
      stderr: '',
    });
    await lockstep(...args, '--shard', '1/3', '--shard-out', 'ex-1.json');
    await lockstep(...args, '--shard', '3/3', '--shard-out', 'ex-3.json');
    const merged = await lockstep('merge', 'ex-1.json', 'ex-2.json', 'ex-3.json');
    expect(merged.code).toBe(0);
    expect(textWithoutTiming(merged.stdout)).toBe(textWithoutTiming(one.stdout));
    expect(merged.stdout).toContain('Rerun: npx lockstep explore job-queue --strategy for-update --isolation read-committed --runs 10000 --seed 1 --mode exhaustive --txs 3\n');
  });

  it('--json prints the shard result it writes', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'for-update', '--runs', '50', '--shard', '2/2', '--shard-out', 'j.json', '--json');
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toEqual(JSON.parse(readFileSync(join(dir, 'j.json'), 'utf8')));
    expect(result).toMatchObject({
      lockstep: 'explore-shard',
      exploration: { scenario: 'points-deduct', strategy: 'for-update', isolation: 'read-committed', seed: 1, runs: 50, mode: 'default' },
      shard: { index: 2, count: 2 },
      parts: 50,
      result: { from: 25, to: 50 },
      command: { search: '' },
    });
  });
});

describe('bad input: one sentence, exit 2', () => {
  const explore = ['explore', 'points-deduct', '--strategy', 'for-update', '--runs', '40'];
  const cases: [string[], string][] = [
    [['--workers', '0'], '--workers must be between 1 and 64, not 0.'],
    [['--workers', 'two'], '--workers must be a whole number, not "two".'],
    [['--shard', '3/2'], '--shard must be i/n with whole numbers 1 <= i <= n <= 10000, not "3/2".'],
    [['--shard', '0/2'], '--shard must be i/n with whole numbers 1 <= i <= n <= 10000, not "0/2".'],
    [['--shard', 'half'], '--shard must be i/n with whole numbers 1 <= i <= n <= 10000, not "half".'],
    [['--shard-out', 'x.json'], '--shard-out applies only to --shard.'],
    [['--shard', '1/2', '--out', 'cx.json'], '--out does not apply to a shard; give it to lockstep merge.'],
    [['--shard', '1/2', '--replay'], '--replay does not apply to a shard; give it to lockstep merge.'],
    [['--workers', '2', '--max-time', '10s'], '--max-time does not combine with --workers or --shard: their parts must not depend on the clock.'],
  ];
  for (const [args, sentence] of cases) {
    it(args.join(' '), async () => {
      expect(await lockstep(...explore, ...args)).toEqual({ code: 2, stdout: '', stderr: `${sentence}\n` });
    });
  }

  it('merge of shards of different seeds, of one shard twice, with a shard missing, of a file that is not a shard result', async () => {
    await lockstep(...explore, '--shard', '1/2', '--shard-out', 'a1.json');
    await lockstep(...explore, '--shard', '2/2', '--shard-out', 'a2.json');
    await lockstep(...explore, '--seed', '2', '--shard', '2/2', '--shard-out', 'b2.json');
    writeFileSync(join(dir, 'broken.json'), '{"lockstep": ');
    writeFileSync(join(dir, 'other.json'), '{"transactions": []}');
    const merge = (...files: string[]) => lockstep('merge', ...files);
    expect(await merge('a1.json', 'b2.json')).toEqual({ code: 2, stdout: '', stderr: 'b2.json is a shard of another exploration than a1.json: seed 2, not 1.\n' });
    expect(await merge('a1.json', 'a1.json')).toEqual({ code: 2, stdout: '', stderr: 'a1.json and a1.json are both shard 1/2.\n' });
    expect(await merge('a2.json')).toEqual({ code: 2, stdout: '', stderr: 'Shard 1/2 is missing; merge needs every shard of the split.\n' });
    expect(await merge('a1.json', 'missing.json')).toEqual({ code: 2, stdout: '', stderr: 'Cannot read the shard file missing.json: no such file.\n' });
    expect(await merge('broken.json')).toEqual({ code: 2, stdout: '', stderr: 'broken.json is not a shard result: it is not valid JSON.\n' });
    expect(await merge('other.json')).toEqual({ code: 2, stdout: '', stderr: 'other.json is not a shard result (lockstep explore --shard writes them).\n' });
    expect(await merge('a1.json', 'a2.json')).toMatchObject({ code: 0, stderr: '' });
  });
});
