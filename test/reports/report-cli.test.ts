import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLockstep } from '../lockstep-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-report-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--report, --svg and --markdown', () => {
  it('explore writes the same report bytes every time, relative to the folder it runs in', async () => {
    const args = ['explore', 'points-deduct', '--strategy', 'naive', '--runs', '500', '--report', 'a.html', '--svg', 'a.svg'];
    expect((await runLockstep(args, { cwd: dir })).code).toBe(1);
    const first = readFileSync(join(dir, 'a.html'), 'utf8');
    expect((await runLockstep(args, { cwd: dir })).code).toBe(1);
    expect(readFileSync(join(dir, 'a.html'), 'utf8')).toBe(first);
    expect(first).toMatch(/^<!DOCTYPE html>/);
    expect(first).not.toContain('elapsedMs');
    expect(readFileSync(join(dir, 'a.svg'), 'utf8')).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" class="ls-drawing"/);
  });

  it('--markdown prints the summary instead of the text report', async () => {
    const { code, stdout } = await runLockstep(['explore', 'points-deduct', '--strategy', 'naive', '--runs', '500', '--markdown']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^### ❌ points-deduct · naive · read-committed: FAILED\n/);
    expect(stdout).toContain('| step | T1 | T2 |');
    expect(stdout).toContain("Damage at step 6: T1 overwrote accounts(1) from what it read at step 1, so T2's write at step 3 is lost.");
  });

  it('a passed exploration has no counterexample to draw: the report says so and --svg writes nothing', async () => {
    const { code, stderr } = await runLockstep(['explore', 'points-deduct', '--strategy', 'atomic-update', '--runs', '50', '--report', 'passed.html', '--svg', 'passed.svg'], { cwd: dir });
    expect(code).toBe(0);
    expect(stderr).toBe('No counterexample to draw: ' + join(dir, 'passed.svg') + ' was not written.\n');
    expect(existsSync(join(dir, 'passed.svg'))).toBe(false);
    expect(readFileSync(join(dir, 'passed.html'), 'utf8')).toContain('<span class="ls-verdict ls-verdict-passed">PASSED</span>');
  });

  it('bad input is refused before any work, with one sentence and exit 2', async () => {
    const both = await runLockstep(['explore', 'points-deduct', '--strategy', 'naive', '--json', '--markdown']);
    expect(both).toMatchObject({ code: 2, stderr: 'Choose one of --json and --markdown.\n' });
    const nowhere = await runLockstep(['explore', 'points-deduct', '--strategy', 'naive', '--report', join(dir, 'missing', 'r.html')]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/^Cannot write to .*r\.html: the file or its folder is not writable or does not exist\.\n$/);
    const same = await runLockstep(['explore', 'points-deduct', '--strategy', 'naive', '--report', 'x', '--svg', 'x'], { cwd: dir });
    expect(same).toMatchObject({ code: 2, stderr: '--report and --svg name the same file; give each its own.\n' });
  });
});
