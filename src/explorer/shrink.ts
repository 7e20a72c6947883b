import * as fc from 'fast-check';
import type { Engine } from '../adapters/engine.ts';
import type { Scenario, Workload, WorkloadTx } from '../model/scenario.ts';
import { exploreExhaustively } from './exhaustive.ts';
import type { RunPlan } from './runner.ts';

/** A failing run as fast-check shrinks it: the workload and a choice list (see `choiceSchedule`). */
export interface FailingCase {
  readonly workload: Workload;
  readonly choices: readonly number[];
}

/**
 * Shrinks a failing run found by any search (PCT, exhaustive, a fixed
 * workload) with fast-check's shrinker, as random exploration shrinks its own:
 * fewer transactions, transactions replaced by the scenario's own (the
 * canonical arguments, tried first), then fewer choices and choices toward 0,
 * which removes preemptions. `fails` reruns a case on the model.
 *
 * ```ts
 * const minimal = shrinkFailingCase(pointsDeduct, found, (w, c) => checkedRun(engine, planFor(w), c).violation !== null, 1);
 * ```
 */
export function shrinkFailingCase(
  scenario: Scenario,
  found: FailingCase,
  fails: (workload: Workload, choices: readonly number[]) => boolean,
  seed: number,
): { readonly failing: FailingCase; readonly shrinks: number } {
  const n = found.workload.length;
  const txs: WorkloadTx[] = [];
  for (const t of [...canonicalByOperation(scenario), ...found.workload]) if (!txs.includes(t)) txs.push(t);
  const arbitrary = fc.tuple(
    fc.array(fc.constantFrom(...txs), { minLength: Math.min(scenario.transactions.min, n), maxLength: n }),
    fc.array(fc.nat({ max: n }), { maxLength: Math.max(found.choices.length, n * 8) }),
  );
  const example: [WorkloadTx[], number[]] = [[...found.workload], [...found.choices]];
  const property = fc.property(arbitrary, ([workload, choices]) => !fails(workload, choices));
  const details = fc.check(property, { examples: [[example]], numRuns: 1, seed });
  if (!details.failed || !details.counterexample) return { failing: found, shrinks: 0 };
  const [[workload, choices]] = details.counterexample;
  return { failing: { workload, choices }, shrinks: details.numShrinks };
}

/** One transaction of the scenario's own workload per operation, in order of first appearance. */
function canonicalByOperation(scenario: Scenario): WorkloadTx[] {
  const seen = new Map<string, WorkloadTx>();
  for (const t of scenario.canonical) if (!seen.has(t.operation)) seen.set(t.operation, t);
  return [...seen.values()];
}

/** Schedules one bounded exhaustive search may run while minimizing. */
const minimizeBudget = 5_000;

/**
 * Finishes shrinking with bounded exhaustive searches, where fast-check's
 * greedy shrinker can stop early (it shrinks the workload while holding the
 * schedule, so a smaller workload may need a different schedule): drops
 * transactions while some schedule with no more preemptions still fails, then
 * looks for a failing schedule with fewer preemptions. Each search is bounded
 * (preemptions, and `minimizeBudget` schedules), so this only ever improves on
 * `failing`.
 */
export function minimizeWithSearch(
  engine: Engine,
  scenario: Scenario,
  planFor: (workload: Workload) => RunPlan,
  failing: FailingCase,
  preemptions: number,
): FailingCase {
  if (failing.workload.length <= scenario.transactions.min && preemptions <= 1) return failing;
  const failingWithin = (workload: Workload, bound: number): FailingCase | null => {
    const r = exploreExhaustively(engine, planFor(workload), { preemptionBound: bound, maxSchedules: minimizeBudget });
    return r.failure ? { workload, choices: r.failure.choices } : null;
  };
  let best = failing;
  let bound = preemptions;
  for (let shrunk = true; shrunk && best.workload.length > scenario.transactions.min; ) {
    shrunk = false;
    for (let i = 0; i < best.workload.length; i++) {
      const smaller = failingWithin([...best.workload.slice(0, i), ...best.workload.slice(i + 1)], bound);
      if (smaller) {
        best = smaller;
        shrunk = true;
        break;
      }
    }
  }
  for (let k = 0; k < bound; k++) {
    const fewer = failingWithin(best.workload, k);
    if (fewer) {
      best = fewer;
      bound = k;
      break;
    }
  }
  return best;
}
