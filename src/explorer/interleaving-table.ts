import type { Counterexample } from './counterexample.ts';
import { textTable } from './text-table.ts';

const maxCell = 52;

/**
 * Renders a counterexample's steps as a table with one column per
 * transaction: each step shows the statement in its transaction's column and,
 * below it, how it came out. A statement released from a lock wait shows its
 * result in its own column at the step that released it.
 *
 * ```
 *  step  T1                                   T2
 *  1     select accounts where id=1
 *        → id=1 balance=3000
 *  2                                          select accounts where id=1
 * ```
 */
export function interleavingTable(cx: Counterexample): string {
  const ids = cx.transactions.map((t) => t.id);
  const rows: string[][] = [['step', ...ids.map((id) => `T${id}`)]];
  cx.steps.forEach((step, i) => {
    const top = ids.map((id) => (id === step.tx ? step.statement : ''));
    const bottom = ids.map((id) => {
      if (id === step.tx) return `${step.outcome.startsWith('blocked') ? '⏸ ' : '→ '}${step.outcome}`;
      const released = step.released?.find((r) => r.tx === id);
      return released ? `⏵ released: ${released.outcome}` : '';
    });
    rows.push([String(i + 1), ...top], ['', ...bottom]);
  });
  return textTable(rows, maxCell);
}
