import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../errors.ts';
import { checkScenario } from '../model/check-scenario.ts';
import type { Scenario } from '../model/scenario.ts';
import { loadScenarioFile, type LoadedScenario } from './scenario-files.ts';

/** Names of the configuration file read from the working folder when present. */
export const configFiles = ['lockstep.config.ts', 'lockstep.config.mts', 'lockstep.config.js', 'lockstep.config.mjs'] as const;

/**
 * The scenarios the CLI knows: the built-in ones and those loaded from
 * `--scenarios` files and `lockstep.config`, by id, with the file each came from.
 */
export class ScenarioRegistry {
  private constructor(
    readonly builtIn: readonly Scenario[],
    readonly loaded: readonly LoadedScenario[],
  ) {}

  /** Loads `files` (as given on the command line) and the config file's scenarios; two scenarios with one id are bad input. */
  static async load(files: readonly string[], cwd: string): Promise<ScenarioRegistry> {
    const { scenarios: builtIn } = await import('../model/scenarios/index.ts');
    const loaded: LoadedScenario[] = [];
    for (const path of await configScenarioFiles(cwd)) {
      if (!loaded.some((l) => l.file === path)) loaded.push(...(await loadScenarioFile(path, cwd)));
    }
    for (const path of files) {
      if (loaded.some((l) => l.file === resolve(cwd, path))) continue;
      loaded.push(...(await loadScenarioFile(path, cwd, path)));
    }
    const registry = new ScenarioRegistry(builtIn, loaded);
    registry.checkUniqueIds(cwd);
    // A file loaded by tsx is not type-checked: its definitions are checked here, before any command reads them.
    for (const l of loaded) checkScenario(l.scenario);
    return registry;
  }

  /** Every scenario: built-in ones first, then loaded ones in load order. */
  get all(): readonly Scenario[] {
    return [...this.builtIn, ...this.loaded.map((l) => l.scenario)];
  }

  /** The loaded scenarios when there are any, else the built-in ones: what `audit` covers by default. */
  get chosen(): readonly Scenario[] {
    return this.loaded.length > 0 ? this.loaded.map((l) => l.scenario) : this.builtIn;
  }

  /** The scenario with this id; an unknown id is an input error listing the ids known. */
  get(id: string): Scenario {
    const scenario = this.all.find((s) => s.id === id);
    if (!scenario) throw new InputError(`Unknown scenario "${id}"; choose one of ${this.all.map((s) => s.id).join(', ')}.`);
    return scenario;
  }

  /** Where a scenario came from, when it was loaded from a file. */
  sourceOf(scenario: Scenario): LoadedScenario | undefined {
    return this.loaded.find((l) => l.scenario === scenario);
  }

  private checkUniqueIds(cwd: string): void {
    const seen = new Map<string, string>();
    const builtInIds = new Set(this.builtIn.map((s) => s.id));
    for (const l of this.loaded) {
      const where = relative(cwd, l.file) || l.file;
      if (builtInIds.has(l.scenario.id)) throw new InputError(`Two scenarios have the id "${l.scenario.id}": a built-in one and one in ${where}; rename yours.`);
      const first = seen.get(l.scenario.id);
      if (first !== undefined) throw new InputError(`Two scenarios have the id "${l.scenario.id}": in ${first} and in ${where}; ids must be unique.`);
      seen.set(l.scenario.id, where);
    }
  }
}

/** The scenario files `lockstep.config.*` in `cwd` names (relative to the config's folder), or none. */
async function configScenarioFiles(cwd: string): Promise<string[]> {
  const name = configFiles.find((f) => existsSync(join(cwd, f)));
  if (name === undefined) return [];
  const file = join(cwd, name);
  const [loaded] = await loadConfigModule(file, name);
  const config = (loaded as { default?: unknown }).default;
  const scenarios = (config as { scenarios?: unknown } | undefined)?.scenarios;
  if (!Array.isArray(scenarios) || !scenarios.every((s) => typeof s === 'string')) {
    throw new InputError(`${name} must export default { scenarios: ['./path/to/scenarios.ts', ...] } (use defineConfig from 'lockstep').`);
  }
  return scenarios.map((s: string) => resolve(dirname(file), s));
}

async function loadConfigModule(file: string, name: string): Promise<[Record<string, unknown>]> {
  try {
    if (/\.m?ts$/.test(file)) {
      const { tsImport } = await import('tsx/esm/api');
      return [await tsImport(pathToFileURL(file).href, import.meta.url)];
    }
    return [await import(pathToFileURL(file).href)];
  } catch (e) {
    throw new InputError(`Cannot read ${name}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/\.$/, '')}.`, { cause: e });
  }
}
