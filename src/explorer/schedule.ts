import type { TxId } from '../adapters/backend.ts';
import { InputError } from '../errors.ts';

/**
 * Decides which transaction takes the next step. `runnable` lists the
 * transactions that can take a step (not finished, not waiting for a lock) in
 * id order; `last` is the transaction that took the previous step (0 before
 * the first).
 */
export interface Chooser {
  /** The transaction to step next, or undefined to end the run early (a prefix run). */
  choose(runnable: readonly TxId[], last: TxId): TxId | undefined;
}

/**
 * A schedule as a list of choices, one per point where more than one
 * transaction can run: 0 keeps running the transaction that ran last, k > 0
 * picks the k-th other runnable transaction, wrapping around. When the last
 * transaction cannot run (at the start, or it is blocked or finished), choice
 * k picks the runnable transaction at index k, wrapping around. Past the end of the list every choice is 0, so
 * an all-zero schedule is a serial run and shrinking toward zeros removes
 * preemptions.
 */
export function choiceSchedule(choices: readonly number[]): Chooser {
  let next = 0;
  return {
    choose(runnable, last) {
      const lastRunnable = runnable.includes(last);
      if (runnable.length === 1) return runnable[0];
      const c = next < choices.length ? choices[next++] : 0;
      if (!lastRunnable) return runnable[c % runnable.length];
      if (c === 0) return last;
      const others = runnable.filter((t) => t !== last);
      return others[(c - 1) % others.length];
    },
  };
}

/**
 * A schedule as the explicit transaction of every step, as counterexample
 * files store it. A step whose transaction cannot run is an input error, or
 * with `prefix` the end of the run (used to check how far a schedule fits).
 */
export function stepOrder(order: readonly TxId[], options: { prefix?: boolean } = {}): Chooser {
  let next = 0;
  return {
    choose(runnable) {
      if (options.prefix && (next >= order.length || !runnable.includes(order[next]))) return undefined;
      if (next >= order.length) throw new InputError(`The schedule ends after ${order.length} steps but transactions ${runnable.map((t) => `T${t}`).join(', ')} still have statements to run.`);
      const tx = order[next++];
      if (!runnable.includes(tx)) {
        throw new InputError(`Step ${next} of the schedule runs T${tx}, which cannot take a step then (runnable: ${runnable.map((t) => `T${t}`).join(', ')}).`);
      }
      return tx;
    },
  };
}

/**
 * A schedule as an intended order of steps that a lock wait may upset: each
 * step goes to the first transaction of the remaining order that can run,
 * and a transaction whose turn comes while it waits runs once it is released.
 * The anomaly catalogue writes its classic interleavings this way; the run
 * then records the steps as they happened, which replay as an exact order.
 */
export function intendedOrder(order: readonly TxId[]): Chooser {
  const remaining = [...order];
  return {
    choose(runnable) {
      const i = remaining.findIndex((tx) => runnable.includes(tx));
      if (i < 0) return runnable[0];
      return remaining.splice(i, 1)[0];
    },
  };
}
