import type { IsolationLevel } from '../../src/adapters/backend.ts';
import { checkRun } from '../../src/explorer/violation.ts';
import { buildCounterexample, type Counterexample } from '../../src/explorer/counterexample.ts';
import { runOnEngine } from '../../src/explorer/runner.ts';
import { stepOrder } from '../../src/explorer/schedule.ts';
import { MemoryEngine } from '../../src/adapters/memory/engine.ts';
import type { Scenario, Workload } from '../../src/model/scenario.ts';
import { deadlockRetry, pointsAdd, pointsDeduct, rewardGrantQuery, welcomeGift } from '../../src/model/scenarios/index.ts';

/**
 * Counterexamples pinned by their workload and step order (what explore
 * finds today with seed 1), so that the golden files change only when the
 * model or the drawing does, not when the search finds another run.
 */
export function pinned(scenario: Scenario, strategy: string, isolation: IsolationLevel, workload: Workload, schedule: readonly number[]): Counterexample {
  const spec = { scenario, strategy: scenario.strategies[strategy], isolation, workload };
  const trace = runOnEngine(new MemoryEngine(scenario.schema), spec, stepOrder(schedule));
  const violation = checkRun(scenario, trace);
  if (!violation) throw new Error(`${scenario.id} ${strategy} ${isolation}: the pinned schedule breaks no rule`);
  return buildCounterexample({ scenario, strategy, isolation, seed: 1, workload, trace, violation });
}

const twice = <A>(operation: string, args: A) => [{ operation, args }, { operation, args }];

/** The known counterexamples of the golden files, by name: each shows something else on the lanes. */
export const known = {
  /** The lost update: T1 -rw-> T2 -ww-> T1, 2 lanes, 8 steps. */
  'points-deduct-lost-update': () => ({ scenario: pointsDeduct, cx: pinned(pointsDeduct, 'naive', 'read-committed', twice('deduct', { user: 1, amount: 300 }), [1, 2, 2, 2, 2, 1, 1, 1]) }),
  /** A lock wait released by a commit into a 40001. */
  'points-add-wait-40001': () => ({ scenario: pointsAdd, cx: pinned(pointsAdd, 'for-update', 'repeatable-read', twice('add', { user: 1, amount: 100 }), [1, 2, 1, 1, 1]) }),
  /** A deadlock: the victim's 40P01 releases the other transaction. */
  'deadlock-40P01': () => ({
    scenario: deadlockRetry,
    cx: pinned(deadlockRetry, 'naive', 'read-committed', [{ operation: 'transfer', args: { from: 1, to: 2, amount: 100 } }, { operation: 'transfer', args: { from: 2, to: 1, amount: 300 } }], [1, 2, 2, 1, 2]),
  }),
  /** A unique violation, 23505, after inserts of several rows. */
  'welcome-gift-23505': () => ({ scenario: welcomeGift, cx: pinned(welcomeGift, 'naive', 'read-committed', twice('claim', { user: 1 }), [1, 2, 2, 2, 2, 2, 1, 1, 1]) }),
  /** A predicate anti-dependency (G-single) and a program that commits twice. */
  'reward-grant-g-single': () => ({
    scenario: rewardGrantQuery,
    cx: pinned(rewardGrantQuery, 'autocommit', 'read-committed', [{ operation: 'grant', args: { user: 1 } }, { operation: 'list', args: { user: 1 } }], [1, 1, 2, 2, 2, 1, 1]),
  }),
} as const;
