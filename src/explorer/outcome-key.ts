import type { TxOutcome } from '../model/scenario.ts';
import type { Trace } from './runner.ts';

/** What a run ends in: the final tables and every transaction's result, fate, error and attempts. */
export function outcomeKey(trace: Pick<Trace, 'final' | 'outcomes'>): string {
  return JSON.stringify([trace.final, trace.outcomes.map(outcomeEntry)]);
}

/** What one transaction ended in, as `outcomeKey` compares it. */
export function outcomeEntry(o: TxOutcome): readonly unknown[] {
  return [o.result ?? null, o.fate, o.error?.code ?? null, o.error?.message ?? null, o.attempts];
}
