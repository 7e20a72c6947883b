import type { TxId } from '../adapters/backend.ts';
import type { Engine } from '../adapters/engine.ts';
import type { DependencyStep, HappensBefore } from './dependency-run.ts';
import { runOnEngine, type RunPlan, type Trace } from './runner.ts';

/**
 * How many step orders the runner could take that are equivalent to this run:
 * the linear extensions of its happens-before order, counted over the
 * transactions' progress (each transaction's steps form a chain). Summed over
 * the distinct traces of an exhaustive search, it is the number of schedules
 * a search without reduction would run.
 */
export function equivalentOrders(steps: readonly DependencyStep[], hb: HappensBefore): number {
  const txs = [...new Set(steps.map((s) => s.tx))].sort((a, b) => a - b);
  const lane = new Map(txs.map((t, k) => [t, k]));
  const chains: number[][] = txs.map(() => []);
  const position: number[] = [];
  for (let j = 0; j < steps.length; j++) {
    const chain = chains[lane.get(steps[j].tx)!];
    position[j] = chain.length;
    chain.push(j);
  }
  // needs[j][u]: how many steps of lane u must have run before step j.
  const needs = steps.map((_, j) => {
    const need = new Array<number>(txs.length).fill(0);
    for (let i = 0; i < j; i++) {
      if (!hb.precedes(i, j)) continue;
      const u = lane.get(steps[i].tx)!;
      need[u] = Math.max(need[u], position[i] + 1);
    }
    return need;
  });
  const radix = chains.map((c) => c.length + 1);
  const memo = new Map<number, number>();
  const progress = new Array<number>(txs.length).fill(0);
  const count = (key: number, done: number): number => {
    if (done === steps.length) return 1;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let total = 0;
    let weight = 1;
    for (let u = 0; u < chains.length; u++) {
      const next = chains[u][progress[u]];
      if (next !== undefined && needs[next].every((n, v) => progress[v] >= n)) {
        progress[u]++;
        total += count(key + weight, done + 1);
        progress[u]--;
      }
      weight *= radix[u];
    }
    memo.set(key, total);
    return total;
  };
  return count(0, 0);
}

/** Every schedule of a workload, without reduction; `onRun` sees each finished run. For checking the reduction on small workloads. */
export function enumerateInterleavings(engine: Engine, spec: RunPlan, onRun: (trace: Trace) => void): number {
  const points: { runnable: readonly TxId[]; index: number }[] = [];
  let runs = 0;
  for (;;) {
    const replay = points.length;
    let depth = 0;
    // A plain run of the model: brute force needs neither footprints nor dependencies.
    const trace = runOnEngine(engine, spec, {
      choose(runnable) {
        const at = depth++;
        if (at < replay) return points[at].runnable[points[at].index];
        points.push({ runnable: [...runnable], index: 0 }); // the runner reuses its array
        return runnable[0];
      },
    });
    runs++;
    onRun(trace);
    while (points.length > 0 && points[points.length - 1].index + 1 >= points[points.length - 1].runnable.length) points.pop();
    if (points.length === 0) return runs;
    points[points.length - 1].index++;
  }
}
