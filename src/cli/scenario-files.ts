import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../errors.ts';
import { isScenario, type Scenario } from '../model/scenario.ts';

/** A scenario and the module file it came from (absolute path). */
export interface LoadedScenario {
  readonly scenario: Scenario;
  readonly file: string;
  /** The path as the user wrote it (`--scenarios ./gift.ts`), for rerun commands; absent when it came from the config file. */
  readonly given?: string;
}

const typeScriptExtensions = new Set(['.ts', '.mts', '.cts', '.tsx']);

/**
 * Imports a scenario module (TypeScript through tsx, loaded only for it;
 * JavaScript natively) and returns every export made by `defineScenario`.
 * A missing file, a syntax error (with where it is) or a module exporting no
 * scenario is an input error.
 */
export async function loadScenarioFile(path: string, cwd: string, given?: string): Promise<LoadedScenario[]> {
  const file = resolve(cwd, path);
  const shown = given ?? path;
  if (!existsSync(file)) throw new InputError(`Cannot load scenarios from ${shown}: no such file.`);
  if (statSync(file).isDirectory()) throw new InputError(`Cannot load scenarios from ${shown}: it is a folder, not a module.`);
  if (!statSync(file).isFile()) throw new InputError(`Cannot load scenarios from ${shown}: it is not a regular file (a pipe, a device or a socket).`);
  let module: Record<string, unknown>;
  try {
    module = typeScriptExtensions.has(extname(file)) ? await importTypeScript(file) : await import(pathToFileURL(file).href);
  } catch (e) {
    throw new InputError(`Cannot load scenarios from ${shown}: ${await loadProblem(e, file, shown)}.`, { cause: e });
  }
  const found = new Map<Scenario, string>();
  for (const [name, value] of Object.entries(module)) if (isScenario(value) && !found.has(value)) found.set(value, name);
  if (found.size === 0) throw new InputError(`${shown} exports no scenario: export the value defineScenario returns (export const myRule = defineScenario({ ... })).`);
  return [...found.keys()].map((scenario) => ({ scenario, file, ...(given !== undefined ? { given } : {}) }));
}

async function importTypeScript(file: string): Promise<Record<string, unknown>> {
  const { tsImport } = await import('tsx/esm/api');
  return tsImport(pathToFileURL(file).href, import.meta.url);
}

/** Why a module did not load, in words: with the file, line and column of a syntax error. */
async function loadProblem(e: unknown, file: string, shown: string): Promise<string> {
  const message = e instanceof Error ? e.message : String(e);
  const where = locateSyntaxError(file);
  if (where) return `syntax error at ${shown}:${where.line}:${where.column}: ${where.text.replace(/\.$/, '')}`;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ERR_MODULE_NOT_FOUND') return message.split('\n')[0].replace(/\.$/, '');
  return `${e instanceof Error ? `${e.name}: ` : ''}${message.split('\n')[0].replace(/\.$/, '')}`;
}

/** Where esbuild (tsx's compiler, installed with it) finds the first syntax error of a module; Node does not say for ES modules. */
function locateSyntaxError(file: string): { line: number; column: number; text: string } | undefined {
  try {
    const require = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
    const esbuild = require('esbuild') as typeof import('esbuild');
    esbuild.transformSync(readFileSync(file, 'utf8'), { loader: typeScriptExtensions.has(extname(file)) ? 'ts' : 'js', format: 'esm', sourcefile: file });
  } catch (e) {
    const first = (e as { errors?: { text: string; location: { line: number; column: number } | null }[] }).errors?.[0];
    if (first?.location) return { line: first.location.line, column: first.location.column + 1, text: first.text };
  }
  return undefined;
}
