import type { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import { runOnEngine, type RunPlan, type Trace } from '../../src/explorer/runner.ts';
import type { Symmetry } from '../../src/explorer/symmetry.ts';

/**
 * A run with interchangeable transactions swapped, for every permutation of each class (`symmetry.ts`): the run of the same
 * steps in which each transaction's steps are taken by the one it is swapped with. What a symmetric search stands for, run
 * on the model rather than worked out.
 */
export function* swappedRuns(engine: MemoryEngine, spec: RunPlan, trace: Trace, symmetry: Symmetry): Generator<Trace> {
  const to = trace.outcomes.map((_, i) => i).concat(trace.outcomes.length);
  function* permute(c: number): Generator<Trace> {
    if (c === symmetry.classes.length) {
      let k = 0;
      yield runOnEngine(engine, spec, { choose: () => to[trace.steps[k++].tx] });
      return;
    }
    const members = symmetry.classes[c];
    for (const order of permutations(members)) {
      members.forEach((t, i) => (to[t] = order[i]));
      yield* permute(c + 1);
    }
    for (const t of members) to[t] = t;
  }
  yield* permute(0);
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}
