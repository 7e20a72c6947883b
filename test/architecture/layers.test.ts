import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * lockstep's layers point one way (DESIGN.md): the language at the bottom;
 * the backends (memory engine, PostgreSQL with the isolationtester runner)
 * beside each other on it; exploration, checks and replay above them; stress
 * and reports above those; the entry points; the CLI at the top. The
 * built-in scenarios are users of the public API, apart from the language.
 * This test reads every import of src/ and fails on an import that points up
 * or sideways, and on any cycle between files.
 */
const src = resolve(import.meta.dirname, '..', '..', 'src');

type Layer = 'language' | 'backends' | 'isolationtester' | 'explorer' | 'stress' | 'reports' | 'built-in' | 'entry' | 'cli';

function layerOf(file: string): Layer {
  if (file.startsWith('model/scenarios/')) return 'built-in';
  if (file.startsWith('model/') || file === 'errors.ts' || file === 'config.ts') return 'language';
  if (file.startsWith('adapters/')) return 'backends';
  if (file.startsWith('isolationtester/')) return 'isolationtester';
  if (file.startsWith('explorer/')) return 'explorer';
  if (file.startsWith('stress/')) return 'stress';
  if (file.startsWith('reports/')) return 'reports';
  if (file === 'index.ts' || file === 'vitest.ts') return 'entry';
  if (file.startsWith('cli/') || file === 'cli.ts') return 'cli';
  throw new Error(`src/${file} is in no layer: add it to test/architecture/layers.test.ts`);
}

/** What each layer may import besides itself. */
const below: Record<Layer, readonly Layer[]> = {
  language: [],
  backends: ['language'],
  explorer: ['language', 'backends'],
  // A runner of spec files beside exploration and replay; it shares their text tables.
  isolationtester: ['language', 'backends', 'explorer'],
  stress: ['language', 'backends', 'explorer'],
  reports: ['language', 'backends', 'explorer', 'isolationtester', 'stress'],
  'built-in': ['language', 'explorer'],
  entry: ['language', 'backends', 'explorer', 'isolationtester', 'stress', 'reports', 'built-in'],
  cli: ['language', 'backends', 'explorer', 'isolationtester', 'stress', 'reports', 'built-in', 'entry'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [relative(src, path)] : [];
  });
}

/** The files of src/ a file imports (static, re-exports and dynamic imports); with `values`, only imports that load code at run time. */
function importsOf(file: string, values = false): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const all = /(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.[^']+)'/gm;
  // `import type { X } from '...'` and `export type { X } from '...'` load nothing.
  const value = /(?:^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+|\bimport\s*\(\s*|^import\s+)'(\.[^']+)'/gms;
  const specifiers = [...text.matchAll(values ? value : all)].map((m) => m[1]);
  return specifiers.map((s) => relative(src, resolve(dirname(join(src, file)), s)));
}

const files = sourceFiles(src).sort();
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const valueGraph = new Map(files.map((f) => [f, importsOf(f, true)]));

describe('layers', () => {
  it('every import of src/ points down or within its layer', () => {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      const from = layerOf(file);
      for (const target of imports) {
        const to = layerOf(target);
        if (to !== from && !below[from].includes(to)) wrong.push(`src/${file} (${from}) imports src/${target} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no cycle between files (type-only imports load nothing and may go round)', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      path.push(file);
      for (const next of valueGraph.get(file) ?? []) {
        if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].map((f) => `src/${f}`).join(' -> '));
        else if (!state.has(next)) visit(next);
      }
      path.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('everything above the adapters sees the memory engine through the Engine interface (src/adapters/engine.ts); only src/explorer/model-engine.ts makes one', () => {
    const maker = 'explorer/model-engine.ts';
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      if (file.startsWith('adapters/') || file.startsWith('model/') || file === maker) continue;
      const values = valueGraph.get(file)!;
      // Types of what the engine produces (its dependency graph) are data; its class and its workings are not.
      for (const target of imports) {
        if (target === 'adapters/memory/engine.ts' || (target.startsWith('adapters/memory/') && values.includes(target))) wrong.push(`src/${file} imports src/${target}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(graph.get(maker)).toContain('adapters/memory/engine.ts');
  });
});
