import type { TxId } from '../adapters/backend.ts';
import { DefinitionError, thrownName } from '../errors.ts';
import type { Scenario, TxOutcome } from '../model/scenario.ts';
import type { Tables } from '../model/schema.ts';
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
  return checkOutcome(scenario, trace.final, trace.outcomes, finishOrder(trace));
}

/** `checkRun` on what a run ended in: the final tables, every transaction's outcome, and the order the transactions finished in (the serial order tried first). */
export function checkOutcome(scenario: Scenario, final: Tables, outcomes: readonly TxOutcome[], finished: readonly TxId[]): Violation | null {
  const run = { initial: scenario.seed, final: final as any, outcomes };
  for (const invariant of scenario.invariants) {
    let message: string | null;
    try {
      message = invariant.check(run);
    } catch (e) {
      throw new DefinitionError(`Scenario ${scenario.id}: invariant ${invariant.name} threw ${thrownName(e)}.`, { cause: e });
    }
    if (message !== null) return { kind: 'invariant', invariant: invariant.name, message };
  }
  if (findSerialOrder(scenario, outcomes, final, finished) === null) {
    const results = outcomes.map((o) => `T${o.id} ${o.fate === 'aborted' ? `aborted ${o.error!.code}` : JSON.stringify(o.result)}`).join(', ');
    return {
      kind: 'not-serializable',
      message: `No serial order of the transactions gives these results (${results}) and this final state.`,
    };
  }
  return null;
}

/** Transactions in the order their last statement completed. */
export function finishOrder(trace: Trace): TxId[] {
  const finishedAt: number[] = [];
  const steps = trace.steps;
  for (let i = 0; i < steps.length; i++) {
    for (const e of steps[i].events) if (e.kind === 'completed') finishedAt[e.tx] = i;
  }
  return trace.outcomes.map((o) => o.id).sort((a, b) => (finishedAt[a] ?? -1) - (finishedAt[b] ?? -1));
}
