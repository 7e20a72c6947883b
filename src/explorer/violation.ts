import type { TxId } from '../adapters/backend.ts';
import { DefinitionError, thrownName } from '../errors.ts';
import type { Scenario } from '../model/scenario.ts';
import type { Trace } from './runner.ts';
import { findSerialOrder } from './serializability.ts';

/** Why a run is wrong: a broken domain invariant, or results no serial order explains. */
export type Violation =
  | { readonly kind: 'invariant'; readonly invariant: string; readonly message: string }
  | { readonly kind: 'not-serializable'; readonly message: string };

/** The broken rule's name: the invariant, or `not serializable`. */
export function ruleName(v: Violation): string {
  return v.kind === 'invariant' ? v.invariant : 'not serializable';
}

/**
 * Checks a finished run: the scenario's invariants first (the first broken one
 * is reported), then serializability against the serial spec.
 */
export function checkRun(scenario: Scenario, trace: Trace): Violation | null {
  const run = { initial: scenario.seed, final: trace.final as any, outcomes: trace.outcomes };
  for (const invariant of scenario.invariants) {
    let message: string | null;
    try {
      message = invariant.check(run);
    } catch (e) {
      throw new DefinitionError(`Scenario ${scenario.id}: invariant ${invariant.name} threw ${thrownName(e)}.`, { cause: e });
    }
    if (message !== null) return { kind: 'invariant', invariant: invariant.name, message };
  }
  if (findSerialOrder(scenario, trace.outcomes, trace.final, finishOrder(trace)) === null) {
    const results = trace.outcomes.map((o) => `T${o.id} ${o.fate === 'aborted' ? `aborted ${o.error!.code}` : JSON.stringify(o.result)}`).join(', ');
    return {
      kind: 'not-serializable',
      message: `No serial order of the transactions gives these results (${results}) and this final state.`,
    };
  }
  return null;
}

/** Transactions in the order their last statement completed. */
function finishOrder(trace: Trace): TxId[] {
  const finishedAt: number[] = [];
  const steps = trace.steps;
  for (let i = 0; i < steps.length; i++) {
    for (const e of steps[i].events) if (e.kind === 'completed') finishedAt[e.tx] = i;
  }
  return trace.outcomes.map((o) => o.id).sort((a, b) => (finishedAt[a] ?? -1) - (finishedAt[b] ?? -1));
}
