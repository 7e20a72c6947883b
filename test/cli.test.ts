import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scenarios } from '../src/model/scenarios/index.ts';
import { bin, runLockstep, spawnLockstep } from './lockstep-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lockstep = (...args: string[]) => runLockstep(args);

describe('lockstep list', () => {
  it('--json lists scenarios with strategies and isolation levels', async () => {
    const { code, stdout } = await lockstep('list', '--json');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout);
    expect(rows.map((r: any) => r.scenario)).toEqual(expect.arrayContaining(['points-deduct', 'points-add', 'points-mixed']));
    expect(rows.find((r: any) => r.scenario === 'points-deduct')).toEqual({
      scenario: 'points-deduct',
      strategies: ['naive', 'for-update', 'atomic-update', 'advisory-lock', 'serializable-retry'],
      isolationLevels: ['read-committed', 'repeatable-read', 'serializable'],
    });
  });
});

describe('lockstep explore', () => {
  it('finds the lost update, prints the interleaving, the rule and the rerun command, exits 1', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', '--runs', '500', '--seed', '3');
    expect(code).toBe(1);
    expect(stdout).toContain('points-deduct · naive · read-committed: FAILED');
    expect(stdout).toContain('Workload (2 transactions, 1 preemption):');
    expect(stdout).toMatch(/step\s+T1\s+T2/);
    expect(stdout).toContain(
      'Violated balance-matches-successes: The balance ended at 2700, but 2 successful operations from 3000 should leave 2400: an update was lost.',
    );
    expect(stdout).toContain('Rerun: npx lockstep explore points-deduct --strategy naive --isolation read-committed --runs 500 --seed 3');
  });

  it('passes a safe strategy and exits 0', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'for-update', '--runs', '300');
    expect(code).toBe(0);
    expect(stdout).toContain('points-deduct · for-update · read-committed: passed 300 random runs (seed 1), no violation found.');
  });

  it('--json is byte-identical for the same arguments, apart from stats', async () => {
    const args = ['explore', 'points-mixed', '--strategy', 'naive', '--runs', '2000', '--seed', '11', '--json'];
    const a = JSON.parse((await lockstep(...args)).stdout);
    const b = JSON.parse((await lockstep(...args)).stdout);
    expect(a.stats.runs).toBeGreaterThan(0);
    delete a.stats;
    delete b.stats;
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a).toMatchObject({ scenario: 'points-mixed', strategy: 'naive', isolation: 'read-committed', seed: 11, runs: 2000, status: 'failed' });
    expect(Object.keys(a.counterexample)).toEqual(expect.arrayContaining(['transactions', 'schedule', 'preemptions', 'steps', 'violation']));
  });

  it('--out writes a counterexample file holding the workload and the explicit step order', async () => {
    const file = join(dir, 'cx.json');
    const { code, stdout } = await lockstep('explore', 'points-add', '--strategy', 'naive', '--runs', '500', '--out', file);
    expect(code).toBe(1);
    expect(stdout).toContain(`Counterexample written to ${file}; replay it with: npx lockstep replay ${file}`);
    const cx = JSON.parse(readFileSync(file, 'utf8'));
    expect(cx).toMatchObject({ format: 'lockstep-counterexample', version: 1, scenario: 'points-add', strategy: 'naive', isolation: 'read-committed' });
    expect(cx.schedule).toHaveLength(cx.steps.length);
    expect(cx.transactions).toHaveLength(2);
  });
});

describe('bad input: one sentence, exit 2', () => {
  const cases: [string[], string][] = [
    [['explore', 'points-dedct', '--strategy', 'naive'], `Unknown scenario "points-dedct"; choose one of ${scenarios.map((s) => s.id).join(', ')}.`],
    [['explore', 'points-deduct', '--strategy', 'magic'], 'Unknown strategy "magic" for points-deduct; choose one of naive, for-update, atomic-update, advisory-lock, serializable-retry.'],
    [['explore', 'points-deduct'], 'Choose a strategy with --strategy; points-deduct has naive, for-update, atomic-update, advisory-lock, serializable-retry.'],
    [['explore', 'points-deduct', '--strategy', 'naive', '--isolation', 'chaos'], 'Unknown isolation level "chaos"; choose one of read-committed, repeatable-read, serializable.'],
    [['explore', 'points-deduct', '--strategy', 'naive', '--seed', 'abc'], '--seed must be a whole number, not "abc".'],
    [['explore', 'points-deduct', '--strategy', 'naive', '--runs', '10x'], '--runs must be a whole number, not "10x".'],
    [['explore', 'points-deduct', '--strategy', 'naive', '--runs', '0'], '--runs must be between 1 and 9007199254740991, not 0.'],
    [['explore', 'points-deduct', '--strategy', 'naive', '--out', '/no/such/folder/cx.json'], 'Cannot write to /no/such/folder/cx.json: the file or its folder is not writable or does not exist.'],
    [['explore', 'points-deduct', '--frobnicate'], "Unknown option '--frobnicate'."],
  ];
  for (const [args, sentence] of cases) {
    it(args.slice(1).join(' '), async () => {
      const { code, stdout, stderr } = await lockstep(...args);
      expect(code).toBe(2);
      expect(stderr).toBe(`${sentence}\n`);
      expect(stdout).toBe('');
    });
  }
});

// The tests above run `main` in this process; these run the executable, for what only a process does.
describe('the lockstep executable', () => {
  it('node bin/lockstep.js list runs the compiled CLI: exit 0 and what main prints', async () => {
    const { code, stdout, stderr } = spawnLockstep(['list']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe((await lockstep('list')).stdout);
  });

  it('LOCKSTEP_PROGRESS_MS sets how often long work prints progress; anything but a whole number of milliseconds is one sentence and exit 2', () => {
    const often = spawnLockstep(['explore', 'points-deduct', '--strategy', 'for-update', '--runs', '30000'], { env: { LOCKSTEP_PROGRESS_MS: '0' } });
    expect(often.code).toBe(0);
    const lines = often.stderr.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => !/^explore: [\d,]+ of 30,000 runs, \d+ s$/.test(line))).toEqual([]);
    expect(spawnLockstep(['list'], { env: { LOCKSTEP_PROGRESS_MS: 'soon' } })).toEqual({ code: 2, stdout: '', stderr: 'LOCKSTEP_PROGRESS_MS must be a whole number of milliseconds, not "soon".\n' });
  });

  it('lockstep list | head -2 ends quietly when the reader goes away: no EPIPE stack, exit 0', async () => {
    // The status checked is lockstep's (a pipeline's is head's); three times, as head may leave before or after lockstep's last write.
    const script = 'for i in 1 2 3; do { "$0" "$1" list; echo $? > "$2"; } | head -2; s=$(cat "$2"); [ "$s" = 0 ] || exit "$s"; done';
    const r = spawnSync('sh', ['-c', script, process.execPath, bin(), join(dir, 'list-status')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const firstTwoLines = (await lockstep('list')).stdout.split('\n').slice(0, 2).join('\n');
    expect(r.stdout).toBe(`${firstTwoLines}\n`.repeat(3));
  });
});
