import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InputError } from '../errors.ts';
import { isScenario, type Scenario } from '../model/scenario.ts';

const typeScriptExtensions = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** A module given as a file URL or an absolute path, as a file URL; anything else is an input error. */
export function moduleUrl(module: string | URL): URL {
  const url = module instanceof URL ? module : /^file:/.test(module) ? new URL(module) : /^(\/|[A-Za-z]:[\\/])/.test(module) ? pathToFileURL(module) : undefined;
  if (url === undefined || url.protocol !== 'file:') {
    throw new InputError(`scenarioModule must be a file URL or an absolute path (new URL('./races.ts', import.meta.url)), not ${JSON.stringify(String(module))}.`);
  }
  return url;
}

/**
 * The scenario with id `id` among a module's exports (a scenario, or a list
 * of them as the built-in module exports), the module imported as the CLI
 * imports a scenario file: TypeScript through tsx, JavaScript natively. What
 * a worker thread loads to explore its part.
 */
export async function scenarioFromModule(module: string | URL, id: string): Promise<Scenario> {
  const url = moduleUrl(module);
  let exports: Record<string, unknown>;
  try {
    if (typeScriptExtensions.has(extname(fileURLToPath(url)))) {
      const { tsImport } = await import('tsx/esm/api');
      exports = await tsImport(url.href, import.meta.url);
    } else {
      exports = await import(url.href);
    }
  } catch (e) {
    throw new InputError(`Cannot load the scenario module ${fileURLToPath(url)}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/\.$/, '')}.`, { cause: e });
  }
  for (const value of Object.values(exports)) {
    for (const candidate of Array.isArray(value) ? value : [value]) if (isScenario(candidate) && candidate.id === id) return candidate;
  }
  throw new InputError(`The scenario module ${fileURLToPath(url)} exports no scenario with the id "${id}".`);
}
