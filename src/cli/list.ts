import { relative } from 'node:path';
import type { CommandIo } from './io.ts';
import { ScenarioRegistry } from './registry.ts';

/** `lockstep list [--scenarios FILE]... [--json]`: the scenarios known, built-in and loaded, with their strategies and isolation levels. */
export async function listCommand(options: { json?: boolean; scenarios: readonly string[] }, io: CommandIo): Promise<number> {
  const registry = await ScenarioRegistry.load(options.scenarios, io.cwd);
  const fileOf = (id: string) => {
    const source = registry.loaded.find((l) => l.scenario.id === id);
    return source ? relative(io.cwd, source.file) || source.file : undefined;
  };
  const rows = registry.all.map((s) => {
    const file = fileOf(s.id);
    return { scenario: s.id, strategies: Object.keys(s.strategies), isolationLevels: [...s.isolationLevels], ...(file !== undefined ? { file } : {}) };
  });
  if (options.json) {
    io.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  for (const s of registry.all) {
    const file = fileOf(s.id);
    io.stdout(`${s.id}  ${s.title}${file !== undefined ? `  (${file})` : ''}\n  strategies: ${Object.keys(s.strategies).join(', ')}\n  isolation:  ${s.isolationLevels.join(', ')}\n`);
  }
  return 0;
}
