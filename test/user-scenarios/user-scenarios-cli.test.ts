import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPostgres, type Provisioned } from '../../src/adapters/postgres/provision.ts';
import { main } from '../../src/cli/main.ts';

// Inside the package, so that `import ... from 'lockstep'` in the fixtures resolves to the package itself (its compiled dist/).
const dir = mkdtempSync(join(import.meta.dirname, '.tmp-'));
const fixtures = join(import.meta.dirname, 'fixtures');
const stampCard = relative(process.cwd(), join(fixtures, 'stamp-card.ts'));
let server: Provisioned;

beforeAll(async () => {
  server = await provisionPostgres();
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the lockstep command in-process in `cwd`, as a user's shell would. */
async function lockstep(args: string[], cwd = process.cwd()) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), cwd });
  return { code, stdout, stderr };
}

describe('a scenario of the user, loaded with --scenarios', () => {
  it('list shows it after the built-in ones, with its file', async () => {
    const { code, stdout } = await lockstep(['list', '--scenarios', stampCard, '--json']);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout);
    expect(rows.at(-1)).toEqual({ scenario: 'stamp-card', strategies: ['naive', 'naive-retry', 'atomic'], isolationLevels: ['read-committed', 'repeatable-read'], file: stampCard });
    expect(rows.find((r: { scenario: string }) => r.scenario === 'points-deduct').file).toBeUndefined();
  });

  it('explore finds the lost update, names its anomaly and prints a rerun command that works', async () => {
    const out = join(dir, 'cx.json');
    const first = await lockstep(['explore', 'stamp-card', '--scenarios', stampCard, '--strategy', 'naive', '--runs', '500', '--out', out]);
    expect(first.code).toBe(1);
    expect(first.stdout).toContain('Violated every-stamp-counts: The card has 1 stamps after 2 successful stamps.\nAnomaly: lost update  T1 -rw-> T2 -ww-> T1\n');
    const rerun = /^Rerun: npx lockstep (.*)$/m.exec(first.stdout)![1];
    expect(rerun).toBe(`explore stamp-card --strategy naive --isolation read-committed --runs 500 --seed 1 --scenarios ${stampCard}`);
    const again = await lockstep(rerun.split(' '));
    expect(again.code).toBe(1);
    expect(again.stdout.split('Rerun:')[0]).toBe(first.stdout.split('Rerun:')[0]);
    const file = JSON.parse(readFileSync(out, 'utf8'));
    expect(Object.keys(file).slice(0, 4)).toEqual(['format', 'version', 'scenario', 'scenarioFile']);
    expect(file.scenarioFile).toBe('../fixtures/stamp-card.ts');
  });

  it("a program's retry on 40001 works across the user's copy of lockstep and the CLI's", async () => {
    const { code, stdout } = await lockstep(['explore', 'stamp-card', '--scenarios', stampCard, '--strategy', 'naive-retry', '--isolation', 'repeatable-read', '--runs', '500']);
    expect(stdout).toContain('stamp-card · naive-retry · repeatable-read: passed 500 random runs (seed 1), no violation found.');
    expect(code).toBe(0);
  });

  it('replay finds the scenario through the file the counterexample recorded, confirms it and emits a spec', async () => {
    const out = join(dir, 'replayed.json');
    expect((await lockstep(['explore', 'stamp-card', '--scenarios', stampCard, '--strategy', 'naive', '--runs', '500', '--out', out])).code).toBe(1);
    const spec = join(dir, 'replayed.spec');
    const { code, stdout, stderr } = await lockstep(['replay', out, '--db', server.url, '--emit-spec', spec]);
    expect(stderr).toBe('');
    expect(stdout).toContain('CONFIRMED: PostgreSQL did what the model predicted at every step, and the violation reproduces: every-stamp-counts.');
    expect(code).toBe(0);
    expect(readFileSync(spec, 'utf8')).toContain('# lockstep counterexample: stamp-card · naive · read-committed\n');
    const ran = await lockstep(['spec', spec, '--db', server.url, '--json']);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout).permutations).toHaveLength(1);
  });

  it('a scenario named in lockstep.config is known to every command run in that folder', async () => {
    const project = mkdtempSync(join(dir, 'project-'));
    mkdirSync(join(project, 'races'));
    copyFileSync(join(fixtures, 'stamp-card.ts'), join(project, 'races', 'stamp-card.ts'));
    writeFileSync(join(project, 'lockstep.config.ts'), "import { defineConfig } from 'lockstep';\nexport default defineConfig({ scenarios: ['./races/stamp-card.ts'] });\n");
    const listed = await lockstep(['list', '--json'], project);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).at(-1)).toMatchObject({ scenario: 'stamp-card', file: join('races', 'stamp-card.ts') });
    const explored = await lockstep(['explore', 'stamp-card', '--strategy', 'atomic', '--runs', '300'], project);
    expect(explored.stdout).toContain('Rerun: npx lockstep explore stamp-card --strategy atomic --isolation read-committed --runs 300 --seed 1\n');
    expect(explored.code).toBe(0);
  });
});

describe('lockstep init', () => {
  it('writes a scenario and its test that run as written, and refuses to overwrite them', async () => {
    const project = mkdtempSync(join(dir, 'init-'));
    const { code, stdout } = await lockstep(['init'], project);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        'Wrote races/credits.ts (the scenario: wallets, a spend operation, a naive and an atomic-update strategy) and races/credits.test.ts (its vitest test).',
        '',
        'Run the test:',
        '  npx vitest run races/credits.test.ts',
        'Find the race in the naive strategy from the command line:',
        '  npx lockstep explore credits-spend --scenarios races/credits.ts --strategy naive',
        '',
      ].join('\n'),
    );
    const naive = await lockstep(['explore', 'credits-spend', '--scenarios', 'races/credits.ts', '--strategy', 'naive', '--runs', '1000'], project);
    expect(naive.stdout).toContain('Anomaly: lost update  T1 -rw-> T2 -ww-> T1');
    expect(naive.code).toBe(1);
    const safe = await lockstep(['explore', 'credits-spend', '--scenarios', 'races/credits.ts', '--strategy', 'atomic-update', '--runs', '1000'], project);
    expect(safe.code).toBe(0);
    const again = await lockstep(['init'], project);
    expect(again).toEqual({ code: 2, stdout: '', stderr: 'races/credits.ts and races/credits.test.ts already exist; lockstep init writes new files only (remove them or give --dir).\n' });
  });
});

describe('bad scenario files: one sentence, exit 2', () => {
  const fixture = (name: string) => relative(process.cwd(), join(fixtures, name));
  const cases: [string, string[], string][] = [
    ['a missing file', ['list', '--scenarios', 'races/missing.ts'], 'Cannot load scenarios from races/missing.ts: no such file.'],
    [
      'a TypeScript file with a syntax error',
      ['list', '--scenarios', fixture('syntax-error.mts')],
      `Cannot load scenarios from ${fixture('syntax-error.mts')}: syntax error at ${fixture('syntax-error.mts')}:3:10: Unexpected ";".`,
    ],
    [
      'a JavaScript file with a syntax error',
      ['list', '--scenarios', fixture('syntax-error.mjs')],
      `Cannot load scenarios from ${fixture('syntax-error.mjs')}: syntax error at ${fixture('syntax-error.mjs')}:1:28: Expected "]" but found ";".`,
    ],
    [
      'a file exporting no scenario',
      ['explore', 'x', '--scenarios', fixture('not-a-scenario.mjs')],
      `${fixture('not-a-scenario.mjs')} exports no scenario: export the value defineScenario returns (export const myRule = defineScenario({ ... })).`,
    ],
    [
      'two scenarios with one id',
      ['list', '--scenarios', stampCard, '--scenarios', fixture('same-id.ts')],
      `Two scenarios have the id "stamp-card": in ${stampCard} and in ${fixture('same-id.ts')}; ids must be unique.`,
    ],
    [
      'a scenario file with a misspelt field (tsx does not type-check it)',
      ['list', '--scenarios', fixture('misspelt-field.ts')],
      'Scenario stamp-card-typo: invariants is undefined; give a list of rules, [] for none.',
    ],
    [
      "a scenario with a built-in scenario's id",
      ['audit', '--scenarios', fixture('built-in-id.ts')],
      `Two scenarios have the id "points-deduct": a built-in one and one in ${fixture('built-in-id.ts')}; rename yours.`,
    ],
  ];
  it.each(cases)('%s', async (_, args, sentence) => {
    expect(await lockstep(args)).toEqual({ code: 2, stdout: '', stderr: `${sentence}\n` });
  });

  it('a report that would replace the counterexample file it replays is refused before anything runs', async () => {
    const out = join(dir, 'kept.json');
    expect((await lockstep(['explore', 'stamp-card', '--scenarios', stampCard, '--strategy', 'naive', '--runs', '500', '--out', out])).code).toBe(1);
    const before = readFileSync(out, 'utf8');
    expect(await lockstep(['replay', out, '--report', out])).toEqual({ code: 2, stdout: '', stderr: '--report and the counterexample file name the same file; give each its own.\n' });
    expect(await lockstep(['explore', 'stamp-card', '--scenarios', stampCard, '--strategy', 'naive', '--out', out, '--report', out])).toEqual({
      code: 2,
      stdout: '',
      stderr: '--report and --out name the same file; give each its own.\n',
    });
    expect(readFileSync(out, 'utf8')).toBe(before);
  });

  it('an unknown id lists the built-in and the loaded ids', async () => {
    const { code, stderr } = await lockstep(['explore', 'stamp-cards', '--scenarios', stampCard, '--strategy', 'naive']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^Unknown scenario "stamp-cards"; choose one of points-deduct, .*, deadlock-retry, stamp-card\.\n$/);
  });

  it('a counterexample whose scenario file is gone says which file, and that --scenarios can point elsewhere', async () => {
    const moved = mkdtempSync(join(dir, 'moved-'));
    copyFileSync(join(fixtures, 'stamp-card.ts'), join(moved, 'stamp-card.ts'));
    const out = join(moved, 'cx.json');
    expect((await lockstep(['explore', 'stamp-card', '--scenarios', join(moved, 'stamp-card.ts'), '--strategy', 'naive', '--runs', '500', '--out', out])).code).toBe(1);
    rmSync(join(moved, 'stamp-card.ts'));
    const gone = relative(process.cwd(), join(moved, 'stamp-card.ts'));
    expect(await lockstep(['replay', out, '--db', server.url])).toEqual({
      code: 2,
      stdout: '',
      stderr: `The scenario file ${gone} that ${out} was written from is gone; point --scenarios at the file that defines stamp-card.\n`,
    });
    const found = await lockstep(['replay', out, '--db', server.url, '--scenarios', stampCard]);
    expect(found.code).toBe(0);
    expect(existsSync(out)).toBe(true);
  });
});
