import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InputError } from '../errors.ts';
import type { CommandIo } from './io.ts';
import { scenarioTemplate, testTemplate } from './init-templates.ts';

/**
 * `lockstep init [--dir FOLDER]`: writes a scenario of one operation with a
 * naive and a safe strategy, and a vitest test that checks both, into the
 * user's project; prints the two commands that run them. Never overwrites.
 */
export async function initCommand(options: { dir: string }, io: CommandIo): Promise<number> {
  const dir = resolve(io.cwd, options.dir, 'races');
  const files = [
    { path: join(dir, 'credits.ts'), text: scenarioTemplate },
    { path: join(dir, 'credits.test.ts'), text: testTemplate },
  ];
  const shown = (path: string) => relative(io.cwd, path) || path;
  const existing = files.filter((f) => existsSync(f.path));
  if (existing.length > 0) {
    throw new InputError(`${existing.map((f) => shown(f.path)).join(' and ')} already ${existing.length === 1 ? 'exists' : 'exist'}; lockstep init writes new files only (remove ${existing.length === 1 ? 'it' : 'them'} or give --dir).`);
  }
  try {
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(f.path, f.text, { flag: 'wx' });
  } catch (e) {
    throw new InputError(`Cannot write into ${shown(dir)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}.`);
  }
  const [scenario, test] = files.map((f) => shown(f.path));
  io.stdout(
    [
      `Wrote ${scenario} (the scenario: wallets, a spend operation, a naive and an atomic-update strategy) and ${test} (its vitest test).`,
      '',
      'Run the test:',
      `  npx vitest run ${test}`,
      'Find the race in the naive strategy from the command line:',
      `  npx lockstep explore credits-spend --scenarios ${scenario} --strategy naive`,
      '',
    ].join('\n'),
  );
  return 0;
}
