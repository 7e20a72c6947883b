import { InputError } from '../errors.ts';

/**
 * How `explore` searches schedules:
 *
 * - `default`: PCT schedules mixed with fast-check's random choice lists
 *   (three to one): PCT hits narrow races that need one transaction to land
 *   between two particular steps of another, random lists cover the rest.
 * - `random`: fast-check's random workloads and choice lists only.
 * - `pct`: probabilistic concurrency testing only (`pct.ts`, `--depth`).
 * - `exhaustive`: every schedule of one workload up to equivalence
 *   (`exhaustive.ts`): a proof of absence for that workload.
 *
 * Whatever the mode, a counterexample is shrunk to the fewest transactions and
 * preemptions.
 */
export type SearchMode = 'default' | 'random' | 'pct' | 'exhaustive';

export const searchModes: readonly SearchMode[] = ['default', 'random', 'pct', 'exhaustive'];

/** PCT depth when none is given: one priority change point. */
export const defaultPctDepth = 2;

/** Checks `--mode`. */
export function parseSearchMode(name: string): SearchMode {
  if (!searchModes.includes(name as SearchMode)) throw new InputError(`Unknown search mode "${name}"; choose one of ${searchModes.join(', ')}.`);
  return name as SearchMode;
}
