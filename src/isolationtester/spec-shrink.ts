import { InputError } from '../errors.ts';
import { fewerSwitches, sessionSwitches, type Permutation } from './permutations.ts';
import type { PermutationRun } from './permutation-run.ts';

/** The permutation a failing check shrank to, and how many extra permutations it took to get there. */
export interface ShrinkResult {
  readonly permutation: Permutation;
  readonly switches: number;
  /** Permutations run while shrinking (beyond those already run). */
  readonly tried: number;
}

/**
 * Shrinks a failing `--check` to the permutation with the fewest session
 * switches that still fails: starts from the failing run with the fewest
 * switches, then repeatedly tries the same steps with a run of one session's
 * steps moved next to another run of that session (fewest switches first),
 * keeping the first that still fails, until none does. Permutations already
 * run are not run again; one that cannot run (a session asked to step while
 * blocked) counts as passing.
 *
 * ```ts
 * const shrunk = await shrinkFailingCheck(runs, permutations, (p) => runner.run(p), sessionOf);
 * ```
 */
export async function shrinkFailingCheck(
  runs: readonly PermutationRun[],
  permutations: readonly Permutation[],
  run: (p: Permutation) => Promise<PermutationRun>,
  sessionOf: (step: string) => string,
): Promise<ShrinkResult | undefined> {
  const known = new Map<string, boolean>();
  const key = (p: Permutation) => p.map((s) => s.step).join(' ');
  runs.forEach((r, i) => known.set(key(permutations[i]), r.check === false));
  const failing = runs.map((r, i) => ({ r, p: permutations[i] })).filter(({ r }) => r.check === false);
  if (failing.length === 0) return undefined;
  let best = failing.reduce((a, b) => (sessionSwitches(b.p, sessionOf) < sessionSwitches(a.p, sessionOf) ? b : a)).p;
  let tried = 0;
  const fails = async (p: Permutation): Promise<boolean> => {
    const k = key(p);
    const seen = known.get(k);
    if (seen !== undefined) return seen;
    tried++;
    let failed: boolean;
    try {
      failed = (await run(p)).check === false;
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      failed = false;
    }
    known.set(k, failed);
    return failed;
  };
  for (let improved = true; improved; ) {
    improved = false;
    for (const candidate of fewerSwitches(best, sessionOf)) {
      if (await fails(candidate)) {
        best = candidate;
        improved = true;
        break;
      }
    }
  }
  return { permutation: best, switches: sessionSwitches(best, sessionOf), tried };
}
