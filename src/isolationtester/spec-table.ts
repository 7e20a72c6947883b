import { textTable } from '../explorer/text-table.ts';
import { outcomeGroups, describeOutcome } from './spec-json.ts';
import type { PermutationRun } from './permutation-run.ts';
import type { ShrinkResult } from './spec-shrink.ts';

/** What the table report says about the run as a whole. */
export interface SpecTableContext {
  readonly file: string;
  readonly server: string;
  /** `every interleaving`, `the spec's permutations`, `8 sampled with seed 1`. */
  readonly selection: string;
  readonly shrunk?: ShrinkResult;
  readonly skipped?: readonly (readonly string[])[];
}

/**
 * `lockstep spec --format table`: one line per permutation with its outcome
 * (⏸ marks a step reported waiting), then the permutations grouped by outcome.
 *
 * ```
 * lost-update.spec · PostgreSQL 17.10 · 6 permutations (every interleaving)
 *
 *   #  permutation              outcome
 *   1  s1r s1w s1c s2r s2w s2c  all steps succeeded
 * ```
 */
export function formatSpecTable(runs: readonly PermutationRun[], context: SpecTableContext): string {
  const withCheck = runs.some((r) => r.check !== undefined);
  const header = ['#', 'permutation', 'outcome', ...(withCheck ? ['check'] : [])];
  const rows = runs.map((r) => {
    const failures = r.steps.filter((s) => s.outcome.error !== null).map((s) => ({ step: s.step, code: s.outcome.error!.code }));
    const order = r.steps.map((s) => (s.blocked ? `${s.step}⏸` : s.step)).join(' ');
    return [String(r.index), order, describeOutcome(failures), ...(withCheck ? [r.check ? 'ok' : 'FAILED'] : [])];
  });
  const count = (n: number) => `${n} permutation${n === 1 ? '' : 's'}`;
  let out = `${context.file} · ${context.server} · ${count(runs.length)} (${context.selection})\n\n`;
  out += `${textTable([header, ...rows], 200)}\n\n`;
  out += 'Outcomes:\n';
  for (const g of outcomeGroups(runs)) out += `  ${count(g.permutations.length)}: ${g.outcome} (${g.permutations.join(', ')})\n`;
  if (context.skipped && context.skipped.length > 0) {
    const n = context.skipped.length;
    out += `\nSkipped ${n} interleaving${n === 1 ? '' : 's'} that ask${n === 1 ? 's' : ''} a blocked session to take its next step, e.g. ${context.skipped[0].join(' ')}.\n`;
  }
  if (withCheck) {
    const failed = runs.filter((r) => r.check === false).length;
    if (failed === 0) {
      out += `\nThe check held after all ${count(runs.length)}.\n`;
    } else if (context.shrunk) {
      const s = context.shrunk;
      out += `\nThe check failed after ${failed} of ${count(runs.length)}. Fewest session switches that still fail (${s.switches}${s.tried > 0 ? `, ${s.tried} more tried` : ''}):\n`;
      out += `  permutation ${s.permutation.map((p) => p.step).join(' ')}\n`;
    }
  }
  return out;
}
