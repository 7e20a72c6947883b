import type { TxId } from '../adapters/backend.ts';
import type { Scenario } from '../model/scenario.ts';
import { sameTables } from '../explorer/serializability.ts';
import type { DirtyReadStep, StepDependency } from './dependency-steps.ts';
import type { RunHistory } from './step-history.ts';

/** The step a report highlights as the one where the rule's damage happens, and why. */
export interface DamageStep {
  /** 0-based. */
  readonly step: number;
  readonly tx: TxId;
  /** One sentence, after `Damage at step 6:`: `T1 overwrote accounts(1) from what it read at step 1, so T2's write at step 3 is lost.` */
  readonly reason: string;
}

/**
 * Where the damage happens, defined so that the same run always gives the same step:
 *
 * 1. with a dependency cycle, the step that closes it: the latest of the
 *    steps its edges were made at (for a lost update, the write that
 *    overwrote a value the writer had not read);
 * 2. with a dirty read (G1a, G1b), the read;
 * 3. when a transaction ended with a database error its program did not
 *    handle (40001, 40P01, 23505, ...), the step where that error came;
 * 4. otherwise the first step after which the committed tables hold the
 *    final contents that break the rule (the last step if they never change).
 *
 * ```ts
 * damageStep(scenario, history, cycleSteps(history, scenario.schema, cx.anomaly), null); // { step: 5, tx: 1, reason: 'T1 overwrote accounts(1) from ...' }
 * ```
 */
export function damageStep(scenario: Scenario, history: RunHistory, cycle: readonly StepDependency[], dirty: DirtyReadStep | null): DamageStep {
  const txAt = (step: number) => history.steps[step].tx;
  let closing: { step: number; edge: StepDependency; tx: TxId } | undefined;
  for (const edge of cycle) {
    for (const [step, tx] of [
      [edge.fromStep, edge.from],
      [edge.toStep, edge.to],
    ] as const) {
      if (step !== undefined && (closing === undefined || step > closing.step)) closing = { step, edge, tx };
    }
  }
  if (closing) return { step: closing.step, tx: closing.tx, reason: closingReason(closing.edge, cycle) };
  if (dirty?.step !== undefined) return { step: dirty.step, tx: dirty.reader, reason: dirty.sentence };
  for (const outcome of history.outcomes) {
    if (outcome.fate !== 'aborted' || !outcome.error) continue;
    const failed = history.statements.filter((s) => s.tx === outcome.id && s.result?.error?.code === outcome.error!.code).pop();
    if (failed?.completed === undefined) continue;
    const { code, message } = outcome.error;
    return {
      step: failed.completed,
      tx: outcome.id,
      reason: `T${outcome.id}'s "${failed.text}" failed with ${code} (${message}), which its program did not handle.`,
    };
  }
  const last = history.steps.length - 1;
  const final = history.steps[last].tables;
  let first = last;
  while (first > 0 && sameTables(scenario, history.steps[first - 1].tables, final)) first--;
  if (first === 0 && sameTables(scenario, history.initial, final)) first = last;
  const what = history.statements[history.steps[first].statement].text;
  return { step: first, tx: txAt(first), reason: `T${txAt(first)}'s "${what}" leaves the committed tables as they end, breaking the rule.` };
}

/** Why the closing step is the damage: for a lost update, the overwrite in the domain's terms; otherwise the edge it completes. */
function closingReason(edge: StepDependency, cycle: readonly StepDependency[]): string {
  const read = cycle.find((e) => e.kind === 'rw' && e.from === edge.to && e.item === edge.item);
  if (cycle.length === 2 && edge.kind === 'ww' && read?.fromStep !== undefined && edge.fromStep !== undefined) {
    return `T${edge.to} overwrote ${edge.item} from what it read at step ${read.fromStep + 1}, so T${edge.from}'s write at step ${edge.fromStep + 1} is lost.`;
  }
  return `it closes the cycle: ${edge.sentence}`;
}
