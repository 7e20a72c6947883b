import type { Invariant, TxOutcome } from './scenario.ts';

/** `T2 (claim {"user":1})`: how an invariant names a transaction in its message. */
export function describeTx(o: TxOutcome): string {
  return `T${o.id} (${o.operation} ${JSON.stringify(o.args)})`;
}

/**
 * Every transaction ended with an answer of the application (success or a
 * clear refusal), none with a database error its program did not handle:
 * for scenarios where SCENARIOS.md asks that all succeed, or that the losers
 * get a clear message.
 */
export const everyRequestAnswered: Invariant = {
  name: 'every-request-answered',
  check: ({ outcomes }) => {
    const failed = outcomes.find((o) => o.fate === 'aborted');
    if (!failed) return null;
    return `${describeTx(failed)} failed with an unhandled ${failed.error!.code} (${failed.error!.message}) instead of an answer of the application.`;
  },
};

/** Outcomes whose program reported `result`. */
export function withResult(outcomes: readonly TxOutcome[], result: string, operation?: string): TxOutcome[] {
  return outcomes.filter((o) => o.result === result && (operation === undefined || o.operation === operation));
}

/** `1 row`, `2 rows`. */
export function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
