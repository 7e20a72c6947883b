import type { Counterexample } from './counterexample.ts';
import type { ReplayReport, StepSide } from './replay.ts';
import { ruleName } from './violation.ts';
import { textTable } from './text-table.ts';


function sideText(side: StepSide): string {
  const released = side.released.map((r) => `; T${r.tx} released: ${r.outcome}`).join('');
  return `${side.outcome}${released}`;
}

/**
 * Human-readable replay report: every step with the model's prediction and
 * PostgreSQL's outcome side by side, each transaction's fate, the final
 * state, and the verdict; on divergence, the first divergent step in full.
 */
export function formatReplayReport(report: ReplayReport, cx: Pick<Counterexample, 'scenario' | 'strategy' | 'isolation' | 'transactions'>): string {
  const rows = [['step', 'tx', 'statement', 'model', 'postgres', '']];
  for (const s of report.steps) {
    rows.push([String(s.index), `T${s.tx}`, s.statementText, sideText(s.model), sideText(s.postgres), s.match ? '✓' : '✗']);
  }
  const fates = report.transactions.map((t) => `T${t.id} ${t.model}${t.match ? '' : ` (postgres: ${t.postgres ?? 'unfinished'})`}`).join(', ');
  const lines = [
    `Replay on ${report.database.version} · ${cx.scenario} · ${cx.strategy} · ${cx.isolation} · ${cx.transactions.length} transactions, ${report.steps.length} steps`,
    '',
    textTable(rows, 44),
    '',
    `Transactions: ${fates}`,
    `Final state: ${report.finalState.postgres === null ? 'not reached' : report.finalState.match ? 'the same in the model and on PostgreSQL' : 'DIFFERENT'}`,
  ];
  if (report.finalState.postgres !== null && !report.finalState.match) {
    lines.push(`  model:    ${JSON.stringify(report.finalState.model)}`, `  postgres: ${JSON.stringify(report.finalState.postgres)}`);
  }
  for (const race of report.racesFollowed) {
    const others = race.candidates.filter((t) => t !== race.chosen).map((t) => `T${t}`).join(', ');
    lines.push(`Race at step ${race.step}: PostgreSQL let T${race.chosen} go before ${others} (an order PostgreSQL leaves to timing; the model allows either and followed).`);
  }
  if (report.attempts > 1) {
    lines.push(`Attempts: ${report.attempts} (an earlier attempt met a lock race whose outcome left the schedule unable to go on).`);
  }
  if (report.reorderedFrom !== undefined) {
    lines.push(`Reordered from step ${report.reorderedFrom}: after PostgreSQL's outcome of a race the stored schedule could not go on, so each step went to the first transaction of the rest of the schedule that could run.`);
  }
  lines.push('');
  if (report.status === 'confirmed') {
    const violation = report.modelViolation;
    const tail = violation === null ? 'and no rule breaks, as the model said.' : report.violationReproduced ? `and the violation reproduces: ${ruleName(violation)}.` : `but the violation (${ruleName(violation)}) does not reproduce.`;
    lines.push(`CONFIRMED: PostgreSQL did what the model predicted at every step, ${tail}`);
  } else if (report.raced) {
    lines.push(`INCONCLUSIVE, reported as diverged: in all ${report.attempts} attempts PostgreSQL resolved a lock race at step ${report.raced.step} so that the rest of the schedule could not run.`);
  } else if (report.firstDivergence !== undefined) {
    const s = report.steps[report.firstDivergence - 1];
    lines.push(`DIVERGED at step ${s.index} (T${s.tx}): ${s.statementText}`, `  sql:      ${s.sql}`, `  model:    ${sideText(s.model)}`, `  postgres: ${sideText(s.postgres)}`);
  } else {
    lines.push('DIVERGED: every step matched, but the transactions ended differently or the final state differs.');
  }
  return lines.join('\n');
}
