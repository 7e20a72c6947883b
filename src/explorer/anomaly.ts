import type { TxId } from '../adapters/backend.ts';
import type { Dependency, DependencyGraph } from '../adapters/memory/dependency-graph.ts';
import { recordedDependencies } from './model-engine.ts';
import { runOnEngine, type RunPlan } from './runner.ts';
import { stepOrder } from './schedule.ts';

/**
 * Adya's anomaly classes (Adya, Liskov and O'Neil, "Generalized Isolation
 * Level Definitions"), plus the lost update, the G-single of two
 * transactions that read and then overwrote the same row.
 */
export type AnomalyClass = 'G0' | 'G1a' | 'G1b' | 'G1c' | 'G-single' | 'G2-item' | 'G2' | 'lost update';

/** The anomaly a run exhibits and the dependency cycle (or dirty read) that shows it. */
export interface Anomaly {
  readonly class: AnomalyClass;
  /** For example `T1 -rw-> T2 -rw-> T1`, or `T2 read accounts(1) written by aborted T1`. */
  readonly cycle: string;
}

/**
 * Names the anomaly of a dependency graph, checking from the strongest
 * phenomenon down: a read of aborted (G1a) or intermediate (G1b) data; a
 * cycle of write dependencies (G0); of write and read dependencies (G1c); a
 * cycle with exactly one anti-dependency (G-single, or a lost update when it
 * is two transactions on one row); with item anti-dependencies only
 * (G2-item); with a predicate anti-dependency (G2). The shortest cycle of the
 * first class found is shown. Null when the graph has no cycle.
 *
 * ```ts
 * classifyGraph(graph); // { class: 'G2-item', cycle: 'T1 -rw-> T2 -rw-> T1' }
 * ```
 */
export function classifyGraph(graph: DependencyGraph): Anomaly | null {
  const dirty = graph.dirtyReads[0];
  if (dirty) {
    const what = dirty.kind === 'G1a' ? 'written by aborted' : 'overwritten later by';
    return { class: dirty.kind, cycle: `T${dirty.reader} read ${dirty.item} ${what} T${dirty.writer}` };
  }
  // A program that commits more than once (autocommit statements, retries) depends on its own earlier attempts: that order is its own, not a cycle.
  const edges = graph.edges.filter((e) => e.from !== e.to).sort(compareEdges);
  const ww = edges.filter((e) => e.kind === 'ww');
  const g0 = shortestCycle(ww, ww);
  if (g0) return { class: 'G0', cycle: describeCycle(g0) };
  const dependencies = edges.filter((e) => e.kind !== 'rw');
  const g1c = shortestCycle(dependencies, dependencies);
  if (g1c) return { class: 'G1c', cycle: describeCycle(g1c) };
  const antiDependencies = edges.filter((e) => e.kind === 'rw');
  const single = shortestCycle(antiDependencies, dependencies);
  if (single) {
    const [rw, ...rest] = single;
    const lost = rest.length === 1 && rest[0].kind === 'ww' && rest[0].item === rw.item;
    return { class: lost ? 'lost update' : 'G-single', cycle: describeCycle(single) };
  }
  const items = edges.filter((e) => !e.predicate);
  const g2item = shortestCycle(items, items);
  if (g2item) return { class: 'G2-item', cycle: describeCycle(g2item) };
  const g2 = shortestCycle(edges, edges);
  if (g2) return { class: 'G2', cycle: describeCycle(g2) };
  return null;
}

/** Runs a schedule again on a recording engine and classifies its dependency graph. */
export function classifyRun(spec: RunPlan, schedule: readonly TxId[]): Anomaly | null {
  return classifyGraph(recordedDependencies(spec.scenario.schema, (engine) => runOnEngine(engine, spec, stepOrder(schedule))));
}

/**
 * The shortest cycle that starts with one of `first` and returns through
 * `rest` edges only (breadth-first, so ties go to the earliest edges).
 */
function shortestCycle(first: readonly Dependency[], rest: readonly Dependency[]): Dependency[] | null {
  let best: Dependency[] | null = null;
  for (const start of first) {
    const path = shortestPath(start.to, start.from, rest);
    if (path && (best === null || path.length + 1 < best.length)) best = [start, ...path];
  }
  return best;
}

function shortestPath(from: TxId, to: TxId, edges: readonly Dependency[]): Dependency[] | null {
  if (from === to) return [];
  const via = new Map<TxId, Dependency>();
  const queue: TxId[] = [from];
  const visited = new Set<TxId>([from]);
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const e of edges) {
      if (e.from !== node || visited.has(e.to)) continue;
      visited.add(e.to);
      via.set(e.to, e);
      if (e.to === to) {
        const path: Dependency[] = [];
        for (let n = to; n !== from; n = via.get(n)!.from) path.unshift(via.get(n)!);
        return path;
      }
      queue.push(e.to);
    }
  }
  return null;
}

function describeCycle(cycle: readonly Dependency[]): string {
  return `T${cycle[0].from} ${cycle.map((e) => `-${e.kind}-> T${e.to}`).join(' ')}`;
}

const kindOrder = { ww: 0, wr: 1, rw: 2 } as const;

function compareEdges(a: Dependency, b: Dependency): number {
  return a.from - b.from || a.to - b.to || kindOrder[a.kind] - kindOrder[b.kind] || Number(a.predicate) - Number(b.predicate) || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0);
}
