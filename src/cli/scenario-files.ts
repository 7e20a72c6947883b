import { existsSync, statSync } from 'node:fs';
import { extname, relative, resolve } from 'node:path';
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
  let module: Record<string, unknown>;
  try {
    module = typeScriptExtensions.has(extname(file)) ? await importTypeScript(file) : await import(pathToFileURL(file).href);
  } catch (e) {
    throw new InputError(`Cannot load scenarios from ${shown}: ${await loadProblem(e, file, cwd)}.`, { cause: e });
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
async function loadProblem(e: unknown, file: string, cwd: string): Promise<string> {
  const message = e instanceof Error ? e.message : String(e);
  // esbuild (through tsx): "Transform failed with 1 error:\n/abs/file.ts:2:17: ERROR: Unexpected ";""
  const located = /^(\/[^\n]*?):(\d+):(\d+): ERROR: (.*)$/m.exec(message);
  if (located) return `syntax error at ${relative(cwd, located[1]) || located[1]}:${located[2]}:${located[3]}: ${located[4].replace(/\.$/, '')}`;
  if (e instanceof SyntaxError && !typeScriptExtensions.has(extname(file))) {
    // Node does not say where a syntax error of an ES module is; esbuild does.
    try {
      await importTypeScript(file);
    } catch (again) {
      const where = /^(\/[^\n]*?):(\d+):(\d+): ERROR: (.*)$/m.exec(again instanceof Error ? again.message : '');
      if (where) return `syntax error at ${relative(cwd, where[1]) || where[1]}:${where[2]}:${where[3]}: ${where[4].replace(/\.$/, '')}`;
    }
    return `syntax error: ${message.replace(/\.$/, '')}`;
  }
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ERR_MODULE_NOT_FOUND') return message.split('\n')[0].replace(/\.$/, '');
  return `${e instanceof Error ? `${e.name}: ` : ''}${message.split('\n')[0].replace(/\.$/, '')}`;
}
