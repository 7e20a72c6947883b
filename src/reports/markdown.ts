import { ruleName } from '../explorer/violation.ts';
import type { Counterexample, CounterexampleStep } from '../explorer/counterexample.ts';
import type { ExploreReport } from '../explorer/explore.ts';
import { rerunCommand } from '../explorer/explore-report.ts';
import type { ReplayReport, StepSide } from '../explorer/replay.ts';
import type { Scenario } from '../model/scenario.ts';
import { viewCounterexample } from './counterexample-view.ts';
import { raceSentences, replayVerdict } from './replay-html.ts';

/** A table cell: pipes escaped, line breaks as `<br>`. */
function md(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, '<br>');
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

function outcomeText(outcome: string): string {
  if (outcome.startsWith('blocked')) return `⏸ ${outcome}`;
  if (outcome.startsWith('error')) return `✗ ${outcome}`;
  if (outcome === 'committed') return '✓ committed';
  return `→ ${outcome}`;
}

function stepCell(step: CounterexampleStep): string {
  return step.statement === 'commit' || step.statement === 'rollback' ? outcomeText(step.outcome) : `${code(step.statement)}<br>${md(outcomeText(step.outcome))}`;
}

/** A counterexample's interleaving as a Markdown table, one column per transaction. */
export function interleavingMarkdown(cx: Counterexample): string {
  const ids = cx.transactions.map((t) => t.id);
  const lines = [`| step | ${ids.map((id) => `T${id}`).join(' | ')} |`, `| ---: | ${ids.map(() => '---').join(' | ')} |`];
  cx.steps.forEach((step, i) => {
    const cells = ids.map((id) => {
      if (id === step.tx) return stepCell(step);
      const released = step.released?.find((r) => r.tx === id);
      return released ? md(`⏵ released: ${released.outcome}`) : '';
    });
    lines.push(`| ${i + 1} | ${cells.join(' | ')} |`);
  });
  return lines.join('\n');
}

/**
 * A counterexample in Markdown, for a CI job summary or a pull request:
 * the violated rule, the anomaly, the interleaving as a table and, given
 * the scenario, the cycle's edges and the damage step in sentences.
 */
export function counterexampleMarkdown(cx: Counterexample, scenario?: Scenario): string {
  const lines = [`**Violated ${md(ruleName(cx.violation))}**: ${md(cx.violation.message)}`, ''];
  lines.push(cx.anomaly ? `Anomaly: **${cx.anomaly.class}** ${code(cx.anomaly.cycle)}` : 'Anomaly: none (no dependency cycle among the committed transactions)', '');
  lines.push(`Workload (${cx.transactions.length} transactions, ${cx.preemptions} preemption${cx.preemptions === 1 ? '' : 's'}): ${cx.transactions.map((t) => `T${t.id} ${code(`${t.operation} ${JSON.stringify(t.args)}`)}`).join(', ')}`, '');
  lines.push(interleavingMarkdown(cx), '');
  if (scenario) {
    const view = viewCounterexample(cx, scenario);
    for (const e of view.cycle) lines.push(`- ${md(e.sentence)}`);
    if (view.cycle.length) lines.push('');
    lines.push(`Damage at step ${view.damage.step + 1}: ${md(view.damage.reason)}`, '');
  }
  return lines.join('\n');
}

/**
 * `lockstep explore --markdown`: the exploration's verdict as a heading, the
 * counterexample when it failed, and the rerun command; no timings.
 *
 * ```ts
 * appendFileSync(process.env.GITHUB_STEP_SUMMARY!, exploreMarkdown(report, pointsDeduct));
 * ```
 */
export function exploreMarkdown(report: ExploreReport, scenario?: Scenario, options: { rerun?: string } = {}): string {
  const head = `${report.scenario} · ${report.strategy} · ${report.isolation}`;
  const rerun = options.rerun ?? rerunCommand(report);
  const searched = `${report.mode} search, ${report.runs} runs, seed ${report.seed}`;
  const parts =
    report.status === 'passed'
      ? [`### ✅ ${head}: passed`, '', `${searched}: no run broke a rule.`, '']
      : [`### ❌ ${head}: FAILED`, '', `${searched}; the counterexample below is shrunk.`, '', counterexampleMarkdown(report.counterexample!, scenario)];
  parts.push('Rerun:', '', '```sh', rerun, '```', '');
  return parts.join('\n');
}

function sideCell(side: StepSide): string {
  return md([side.outcome, ...side.released.map((r) => `T${r.tx} released: ${r.outcome}`)].join('\n'));
}

/** `lockstep replay --markdown`: the verdict, every step with the model and PostgreSQL side by side, the races PostgreSQL settled, and the fates. */
export function replayMarkdown(report: ReplayReport, cx: Counterexample, options: { rerun?: string } = {}): string {
  const ok = report.status === 'confirmed';
  const lines = [`### ${ok ? '✅' : '❌'} Replay on ${report.database.version} · ${cx.scenario} · ${cx.strategy} · ${cx.isolation}: ${ok ? 'CONFIRMED' : 'DIVERGED'}`, '', md(replayVerdict(report)), ''];
  lines.push('| step | tx | statement | model | PostgreSQL | |', '| ---: | --- | --- | --- | --- | --- |');
  for (const s of report.steps) {
    const mark = s.match ? '✓' : report.firstDivergence === s.index ? '✗ **first divergence**' : '✗';
    lines.push(`| ${s.index} | T${s.tx} | ${code(s.statementText)} | ${sideCell(s.model)} | ${sideCell(s.postgres)} | ${mark} |`);
  }
  lines.push('');
  const races = raceSentences(report);
  for (const r of races) lines.push(`- ${md(r)}`);
  if (races.length) lines.push('');
  lines.push(`Transactions: ${report.transactions.map((t) => `T${t.id} ${t.model}${t.match ? '' : ` (PostgreSQL: ${t.postgres ?? 'unfinished'})`}`).join(', ')}`, '');
  lines.push(`Final state: ${report.finalState.postgres === null ? 'not reached' : report.finalState.match ? 'the same in the model and on PostgreSQL' : '**different**'}`, '');
  if (options.rerun) lines.push('Rerun:', '', '```sh', options.rerun, '```', '');
  return lines.join('\n');
}
