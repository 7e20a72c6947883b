import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLockstep } from './lockstep-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lockstep = (...args: string[]) => runLockstep(args);

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('lockstep explore --mode exhaustive', () => {
  it('proves a safe strategy for the default workload and prints the reduction', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'for-update', '--mode', 'exhaustive', '--txs', '3');
    expect(code).toBe(0);
    expect(stdout).toContain(
      'points-deduct · for-update · read-committed: passed exhaustive search: 15 schedules, 14 of them stopped at a state already explored, 1 distinct trace (at least 1 interleaving without reduction), 1 distinct final outcome, 3 transactions taken for interchangeable (same operation, same arguments); no schedule of this workload breaks a rule.',
    );
    expect(stdout).toContain('Rerun: npx lockstep explore points-deduct --strategy for-update --isolation read-committed --runs 10000 --seed 1 --mode exhaustive --txs 3');
  });

  it('--json stats carry schedules, traces, naive interleavings, pruned prefixes and distinct outcomes', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'atomic-update', '--mode', 'exhaustive', '--txs', '2', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ mode: 'exhaustive', status: 'passed', stats: { schedules: 3, traces: 1, naiveInterleavings: 1, complete: true, prunedPrefixes: 2, outcomes: 1, schedulesPerOutcome: 3, interchangeable: 2 } });
  });

  it('finds the lost update and shrinks it like random search, exit 1', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', '--mode', 'exhaustive', '--txs', '4');
    expect(code).toBe(1);
    expect(stdout).toMatch(/points-deduct · naive · read-committed: FAILED after \d+ schedules? \(exhaustive search\)/);
    expect(stdout).toContain('Workload (2 transactions, 1 preemption):');
    expect(stdout).toContain('an update was lost.');
  });

  it('--preemption-bound 0 is a bounded search, said so', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'for-update', '--mode', 'exhaustive', '--preemption-bound', '0');
    expect(code).toBe(0);
    expect(stdout).toContain('passed bounded search: ');
    expect(stdout).toContain('(not a proof: schedules beyond the bound were cut).');
  });

  it('--workload explores the workload in the file', async () => {
    const w = file('w.json', JSON.stringify([{ operation: 'deduct', args: { user: 1, amount: 300 } }, { operation: 'deduct', args: { user: 1, amount: 600 } }]));
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'for-update', '--mode', 'exhaustive', '--workload', w, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).stats).toMatchObject({ schedules: 6, traces: 2, naiveInterleavings: 2 });
  });
});

describe('lockstep explore --mode pct and default', () => {
  it('pct finds and shrinks the lost update; the rerun command names the mode and depth', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', '--mode', 'pct', '--depth', '3', '--runs', '200', '--seed', '5');
    expect(code).toBe(1);
    expect(stdout).toContain('Workload (2 transactions, 1 preemption):');
    expect(stdout).toContain('Rerun: npx lockstep explore points-deduct --strategy naive --isolation read-committed --runs 200 --seed 5 --mode pct --depth 3');
  });

  it('pct passes a safe strategy', async () => {
    const { code, stdout } = await lockstep('explore', 'points-deduct', '--strategy', 'for-update', '--mode', 'pct', '--runs', '200');
    expect(code).toBe(0);
    expect(stdout).toContain('points-deduct · for-update · read-committed: passed 200 PCT runs (seed 1), no violation found.');
  });
});

describe('bad search options: one sentence, exit 2', () => {
  const missing = join(dir, 'missing.json');
  const cases: [string[], string | (() => string)][] = [
    [['--mode', 'smart'], 'Unknown search mode "smart"; choose one of default, random, pct, exhaustive.'],
    [['--depth', '3'], '--depth applies only to --mode pct.'],
    [['--mode', 'exhaustive', '--depth', '3'], '--depth applies only to --mode pct.'],
    [['--mode', 'pct', '--depth', 'deep'], '--depth must be a whole number, not "deep".'],
    [['--mode', 'pct', '--depth', '0'], '--depth must be between 1 and 16, not 0.'],
    [['--txs', '3'], '--txs applies only to --mode exhaustive.'],
    [['--preemption-bound', '1'], '--preemption-bound applies only to --mode exhaustive.'],
    [['--mode', 'exhaustive', '--txs', 'three'], '--txs must be a whole number, not "three".'],
    [['--mode', 'exhaustive', '--preemption-bound', '-1'], '--preemption-bound must be between 0 and 1000, not -1.'],
    [['--mode', 'exhaustive', '--txs', '2', '--workload', missing], 'Give either --txs or --workload, not both.'],
    [['--workload', missing], `Cannot read the workload file ${missing}: no such file.`],
    [['--mode', 'exhaustive', '--max-transactions', '3'], '--max-transactions does not apply to --mode exhaustive; give --txs.'],
    [['--max-transactions', '3', '--workload', missing], 'Give either --max-transactions or --workload, not both.'],
  ];
  for (const [args, sentence] of cases) {
    it(args.join(' '), async () => {
      const { code, stdout, stderr } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', ...args);
      expect(code).toBe(2);
      expect(stderr).toBe(`${sentence}\n`);
      expect(stdout).toBe('');
    });
  }

  it('a workload file that is not JSON', async () => {
    const path = file('broken.json', '[{"operation": "deduct",');
    const { code, stderr } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', '--workload', path);
    expect(code).toBe(2);
    expect(stderr).toBe(`${path} is not a workload file: it is not valid JSON.\n`);
  });

  it('a workload file that is not a list of transactions', async () => {
    const path = file('object.json', '{"deduct": 300}');
    const { code, stderr } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', '--workload', path);
    expect(code).toBe(2);
    expect(stderr).toBe(`${path} is not a workload file: expected a non-empty list of {"operation", "args"} (or an object with "transactions").\n`);
  });

  it('a workload file with a transaction without args', async () => {
    const path = file('noargs.json', '[{"operation": "deduct"}]');
    const { code, stderr } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', '--workload', path);
    expect(code).toBe(2);
    expect(stderr).toBe(`${path} is not a workload file: transaction 1 must be an object with "operation" and "args".\n`);
  });

  it('a workload file naming an unknown operation', async () => {
    const path = file('unknown.json', JSON.stringify([{ operation: 'deduct', args: { user: 1, amount: 300 } }, { operation: 'steal', args: {} }]));
    const { code, stderr } = await lockstep('explore', 'points-deduct', '--strategy', 'naive', '--mode', 'exhaustive', '--workload', path);
    expect(code).toBe(2);
    expect(stderr).toBe(`${path}: transaction 2 runs unknown operation "steal"; points-deduct has deduct.\n`);
  });
});
