import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import { counterexampleJson } from '../../src/explorer/counterexample.ts';
import { explore } from '../../src/explorer/explore.ts';
import { pointsAdd, pointsDeduct } from '../../src/model/scenarios/points.ts';
import { runLockstep } from '../lockstep-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'lockstep-emit-'));
let server: Provisioned;

beforeAll(async () => {
  // The test run's PostgreSQL (DATABASE_URL, test/global-setup.ts): this file's own database on it.
  server = await provisionPostgres();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const lockstep = (...args: string[]) => runLockstep(args);

/** Each step of the spec run: its name, whether it was reported waiting, and its SQLSTATE. */
async function specSteps(file: string) {
  const { code, stdout, stderr } = await lockstep('spec', file, '--db', server.url, '--json');
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const report = JSON.parse(stdout);
  expect(report.permutations).toHaveLength(1);
  return report.permutations[0].steps.map((s: { step: string; blocked: boolean; error: { code: string } | null }) => [s.step, s.blocked, s.error?.code ?? null]);
}

describe('lockstep replay --emit-spec', () => {
  it('writes the lost update as a spec whose run shows the same steps, and still replays', async () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 500, seed: 1 });
    const cx = join(dir, 'lost-update.json');
    writeFileSync(cx, counterexampleJson(report.counterexample!));
    const spec = join(dir, 'lost-update.spec');
    const { code, stdout } = await lockstep('replay', cx, '--db', server.url, '--emit-spec', spec);
    expect(code).toBe(0);
    expect(stdout).toContain('CONFIRMED');
    const text = readFileSync(spec, 'utf8');
    expect(text).toContain('# lockstep counterexample: points-deduct · naive · read-committed\n');
    expect(text).toContain('session t1\nstep t1_1 { BEGIN ISOLATION LEVEL READ COMMITTED; select * from "accounts" where "id" = 1 order by "id"; }\n');
    expect(text).toContain(`permutation ${report.counterexample!.schedule.map((tx, i, all) => `t${tx}_${all.slice(0, i + 1).filter((t) => t === tx).length}`).join(' ')}\n`);
    expect(await specSteps(spec)).toEqual(report.counterexample!.steps.map((s, i, all) => [`t${s.tx}_${all.slice(0, i + 1).filter((t) => t.tx === s.tx).length}`, false, null]));
  });

  it('a step the model blocks is reported waiting, and the 40001 and the ROLLBACK of the aborted transaction follow', async () => {
    const report = explore({ scenario: pointsAdd, strategy: 'naive', isolation: 'repeatable-read', runs: 500, seed: 1 });
    // T1 updates first; T2's update waits for T1, then fails with 40001 when T1 commits.
    const cx = { ...JSON.parse(counterexampleJson(report.counterexample!)), schedule: [1, 1, 2, 2, 1, 1] };
    const file = join(dir, 'blocked.json');
    writeFileSync(file, JSON.stringify(cx));
    const spec = join(dir, 'blocked.spec');
    const { code, stdout } = await lockstep('replay', file, '--db', server.url, '--emit-spec', spec, '--json');
    expect(code).toBe(0);
    const replay = JSON.parse(stdout);
    expect(replay.steps[3]).toMatchObject({ tx: 2, model: { outcome: 'blocked by T1' } });
    expect(readFileSync(spec, 'utf8')).toContain('\npermutation t1_1 t1_2 t2_1 t2_2 t1_3 t1_4 t2_3\n');
    expect(await specSteps(spec)).toEqual([
      ['t1_1', false, null],
      ['t1_2', false, null],
      ['t2_1', false, null],
      ['t2_2', true, '40001'],
      ['t1_3', false, null],
      ['t1_4', false, null],
      ['t2_3', false, null],
    ]);
  });

  it('an unwritable --emit-spec path is one sentence and exit 2', async () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 100, seed: 1 });
    const cx = join(dir, 'cx.json');
    writeFileSync(cx, counterexampleJson(report.counterexample!));
    const { code, stderr } = await lockstep('replay', cx, '--db', server.url, '--emit-spec', '/no/such/folder/cx.spec');
    expect(code).toBe(2);
    expect(stderr).toBe('Cannot write the spec to /no/such/folder/cx.spec: its folder does not exist.\n');
  });
});
