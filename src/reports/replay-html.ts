import { ruleName } from '../explorer/violation.ts';
import type { Counterexample } from '../explorer/counterexample.ts';
import type { ReplayReport } from '../explorer/replay.ts';
import type { Scenario } from '../model/scenario.ts';
import type { HtmlReportOptions } from './counterexample-html.ts';
import { lanesSvgElement } from './lanes-html.ts';
import { htmlPage } from './html-page.ts';
import { layoutLanes } from './lane-layout.ts';
import { escapeXml } from './markup.ts';
import { replayLanes } from './replay-lanes.ts';
import { tablesHtml } from './state-tables.ts';

/** The replay's verdict in one sentence, as the text report ends. */
export function replayVerdict(report: ReplayReport): string {
  if (report.status === 'confirmed') {
    const v = report.modelViolation;
    const tail = v === null ? 'and no rule breaks, as the model said.' : report.violationReproduced ? `and the violation reproduces: ${ruleName(v)}.` : `but the violation (${ruleName(v)}) does not reproduce.`;
    return `PostgreSQL did what the model predicted at every step, ${tail}`;
  }
  if (report.firstDivergence !== undefined) {
    const s = report.steps[report.firstDivergence - 1];
    return `PostgreSQL diverged from the model at step ${s.index} (T${s.tx}: ${s.statementText}): the model predicted "${s.model.outcome}", PostgreSQL gave "${s.postgres.outcome}".`;
  }
  return 'Every step matched, but the transactions ended differently or the final state differs.';
}

/** Races PostgreSQL settled by timing, in words. */
export function raceSentences(report: ReplayReport): string[] {
  const lines = report.racesFollowed.map((race) => {
    const others = race.candidates.filter((t) => t !== race.chosen).map((t) => `T${t}`).join(', ');
    return `At step ${race.step}, PostgreSQL let T${race.chosen} go before ${others}: an order it leaves to timing, which the model allows and followed.`;
  });
  const reordered = (report as { reorderedFrom?: number }).reorderedFrom;
  if (reordered !== undefined) lines.push(`From step ${reordered} on, the stored schedule could not go on after PostgreSQL's choice, so each step went to the first transaction of the rest of the schedule that could run.`);
  if (report.attempts > 1) lines.push(`It took ${report.attempts} attempts: an earlier one met a race whose outcome left the schedule unable to go on.`);
  return lines;
}

/**
 * A replay on PostgreSQL as one self-contained HTML page: the verdict, the
 * rule the model predicted to break and whether PostgreSQL broke it too,
 * the swimlanes with the model's and PostgreSQL's outcome in every box (✓
 * when they agree, the first divergence banded), the races PostgreSQL
 * settled, each transaction's fate and the final tables on both sides. The
 * timings are left out: the same replay gives the same bytes.
 *
 * ```ts
 * import { replay, renderReplayHtml } from 'lockstep';
 * writeFileSync('replay.html', renderReplayHtml(await replay(cx), cx, pointsDeduct, { rerun: 'npx lockstep replay cx.json' }));
 * ```
 */
export function renderReplayHtml(report: ReplayReport, cx: Counterexample, scenario: Scenario, options: HtmlReportOptions = {}): string {
  const title = `Replay on ${report.database.version} · ${cx.scenario} · ${cx.strategy} · ${cx.isolation}`;
  const status = report.status === 'confirmed' ? 'CONFIRMED' : 'DIVERGED';
  const parts = [`<h1>${escapeXml(title)} <span class="ls-verdict ls-verdict-${report.status}">${status}</span></h1>`, replaySection(report, cx, scenario)];
  if (options.rerun) parts.push('<h3>Rerun</h3>', `<pre>${escapeXml(options.rerun)}</pre>`);
  const { elapsedMs: _, ...data } = report;
  return htmlPage({ title: `lockstep: ${title}`, body: parts.join('\n'), data });
}

/** A replay's verdict, rule, races, lanes, fates and final tables, as a part of a page. */
export function replaySection(report: ReplayReport, cx: Counterexample, scenario: Scenario): string {
  const title = `Replay on ${report.database.version} · ${cx.scenario} · ${cx.strategy} · ${cx.isolation}`;
  const parts: string[] = [`<p class="ls-sub">${escapeXml(replayVerdict(report))}</p>`];
  const v = report.modelViolation ?? cx.violation;
  const reproduced = report.violationReproduced ? 'PostgreSQL broke it too.' : report.postgresViolation ? `PostgreSQL broke ${ruleName(report.postgresViolation)} instead.` : 'PostgreSQL did not break it.';
  parts.push(`<div class="ls-rule"><strong>The model predicted: ${escapeXml(ruleName(v))}</strong>${escapeXml(v.message)} ${escapeXml(reproduced)}</div>`);
  if (cx.anomaly) parts.push(`<p>Anomaly: <strong>${escapeXml(cx.anomaly.class)}</strong> <code>${escapeXml(cx.anomaly.cycle)}</code></p>`);
  const races = raceSentences(report);
  parts.push(
    '<h3>Which races PostgreSQL took</h3>',
    races.length ? `<ul>${races.map((r) => `<li>${escapeXml(r)}</li>`).join('')}</ul>` : '<p>None: no step depended on an order PostgreSQL leaves to timing, or PostgreSQL took the order the model took first.</p>',
  );
  const layout = layoutLanes(replayLanes(report, cx, 'ls-replay-'));
  parts.push(
    `<section class="ls-cx"><h3>Step by step: ${cx.transactions.length} transactions, ${report.steps.length} of ${cx.schedule.length} steps replayed</h3>`,
    `<div class="ls-figure"><div class="ls-lanes-scroll">${lanesSvgElement(layout, `${title} step by step`)}</div></div></section>`,
  );
  const fates = report.transactions.map(
    (t) => `<tr><td>T${t.id}</td><td>${t.model}</td><td>${t.postgres ?? 'unfinished'}</td><td class="${t.match ? 'ls-ok' : 'ls-bad'}">${t.match ? '✓ same' : '✗ different'}</td></tr>`,
  );
  parts.push('<h3>Transactions</h3>', `<table class="ls-table"><thead><tr><th>tx</th><th>model</th><th>PostgreSQL</th><th></th></tr></thead><tbody>${fates.join('')}</tbody></table>`);
  const { finalState } = report;
  const verdict = finalState.postgres === null ? 'not reached: the replay stopped at the divergence' : finalState.match ? 'the same in the model and on PostgreSQL' : 'different (PostgreSQL’s differences from the model are marked)';
  parts.push(`<h3>Final tables: ${escapeXml(verdict)}</h3>`, '<div class="ls-figure">', `<div><h3>Model</h3>${tablesHtml(scenario.schema, finalState.model)}</div>`);
  if (finalState.postgres !== null) parts.push(`<div><h3>PostgreSQL</h3>${tablesHtml(scenario.schema, finalState.postgres, finalState.match ? undefined : finalState.model)}</div>`);
  parts.push('</div>');
  return parts.join('\n');
}
