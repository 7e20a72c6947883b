import { ruleName } from '../explorer/violation.ts';
import type { Counterexample } from '../explorer/counterexample.ts';
import type { ExploreReport } from '../explorer/explore.ts';
import type { ReplayReport } from '../explorer/replay.ts';
import { rerunCommand } from '../explorer/explore-report.ts';
import type { Scenario } from '../model/scenario.ts';
import { cycleEdges, cycleMeaning, viewCounterexample, type CounterexampleView } from './counterexample-view.ts';
import { cycleSvgBody } from './cycle-svg.ts';
import { htmlPage } from './html-page.ts';
import { replaySection } from './replay-html.ts';
import { drawingDefs } from './lanes-svg.ts';
import { lanesSvgElement } from './lanes-html.ts';
import { escapeXml } from './markup.ts';
import { tablesHtml, uncommittedHtml } from './state-tables.ts';

/** Options of the HTML reports. */
export interface HtmlReportOptions {
  /** The command that reruns it, shown at the end (default: an `explore` of the same scenario, strategy, level and seed). */
  readonly rerun?: string;
}

/** Options of an exploration's page. */
export interface ExploreHtmlOptions extends HtmlReportOptions {
  /** The replay of its counterexample on PostgreSQL (`explore --replay`), shown after it. */
  readonly replay?: ReplayReport;
}

function cycleSvgElement(view: CounterexampleView): string {
  const prefix = `${view.idPrefix}g-`;
  const graph = cycleSvgBody(cycleEdges(view), prefix);
  return `<svg xmlns="http://www.w3.org/2000/svg" class="ls-cycle-graph" width="${graph.width}" height="${graph.height}" viewBox="0 0 ${graph.width} ${graph.height}" role="img" aria-label="${escapeXml(`dependency cycle ${view.cx.anomaly?.cycle ?? ''}`)}">${drawingDefs(prefix)}${graph.body}</svg>`;
}

/** The tables before the first step and after each, one panel shown at a time (the last one first). */
function statePanels(view: CounterexampleView): string {
  const { history, scenario } = view;
  const panels = [`<div data-state-for="0" hidden><h3>Tables before step 1</h3>${tablesHtml(scenario.schema, history.initial)}</div>`];
  history.steps.forEach((step, i) => {
    const statement = history.statements[step.statement];
    const before = i === 0 ? history.initial : history.steps[i - 1].tables;
    const hidden = i === history.steps.length - 1 ? '' : ' hidden';
    panels.push(
      `<div data-state-for="${i + 1}"${hidden}><h3>Committed tables after step ${i + 1}</h3><p class="ls-note">T${step.tx}: <code>${escapeXml(statement.text)}</code></p>${tablesHtml(scenario.schema, step.tables, before)}${uncommittedHtml(step.uncommitted)}</div>`,
    );
  });
  return `<aside class="ls-state-panel" aria-live="polite">${panels.join('\n')}</aside>`;
}

function workloadTable(view: CounterexampleView): string {
  const rows = view.history.outcomes.map((o) => {
    const answer = o.fate === 'aborted' && o.error ? `${o.error.code} ${o.error.message}` : JSON.stringify(o.result ?? null);
    return `<tr><td>T${o.id}</td><td>${escapeXml(o.operation)}</td><td>${escapeXml(JSON.stringify(o.args))}</td><td>${o.fate}</td><td>${escapeXml(answer)}</td><td>${o.attempts}</td></tr>`;
  });
  return `<table class="ls-table"><thead><tr><th>tx</th><th>operation</th><th>arguments</th><th>fate</th><th>answer</th><th>attempts</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The default rerun command of a counterexample: an exploration that finds it again. */
export function counterexampleRerun(cx: Counterexample): string {
  return `npx lockstep explore ${cx.scenario} --strategy ${cx.strategy} --isolation ${cx.isolation}${cx.seed !== undefined ? ` --seed ${cx.seed}` : ''}`;
}

/**
 * One counterexample as an HTML section: the violated rule, the anomaly and
 * its cycle (a graph, and a sentence per edge), the damage step, the
 * swimlanes beside the tables as they stood after the hovered step, the
 * workload with each transaction's answer, and the rerun command.
 */
export function counterexampleSection(view: CounterexampleView, options: HtmlReportOptions & { id?: string; heading?: string } = {}): string {
  const { cx } = view;
  const parts: string[] = [`<section class="ls-cx"${options.id ? ` id="${escapeXml(options.id)}"` : ''}>`];
  if (options.heading) parts.push(`<h2>${escapeXml(options.heading)}</h2>`);
  parts.push(`<div class="ls-rule"><strong>Violated: ${escapeXml(ruleName(cx.violation))}</strong>${escapeXml(cx.violation.message)}</div>`);
  if (cx.anomaly) {
    parts.push(`<p>Anomaly: <strong>${escapeXml(cx.anomaly.class)}</strong> <code>${escapeXml(cx.anomaly.cycle)}</code></p>`);
    if (view.cycle.length) {
      parts.push(`<div class="ls-cycle-box">${cycleSvgElement(view)}<ol>${view.cycle.map((e) => `<li>${escapeXml(e.sentence)}</li>`).join('')}</ol></div>`, `<p class="ls-note">${escapeXml(cycleMeaning)}</p>`);
    } else if (view.dirty) {
      parts.push(`<p>${escapeXml(view.dirty.sentence)}</p>`);
    }
  } else {
    parts.push('<p>Anomaly: none. No dependency cycle among the committed transactions: the rule broke without an isolation anomaly.</p>');
  }
  parts.push(`<div class="ls-damage-text"><strong>Damage at step ${view.damage.step + 1}:</strong> ${escapeXml(view.damage.reason)}</div>`);
  parts.push(
    `<h3>Interleaving: ${cx.transactions.length} transactions, ${cx.steps.length} steps, ${cx.preemptions} preemption${cx.preemptions === 1 ? '' : 's'}</h3>`,
    '<p class="ls-note">Hover or focus (Tab) a step to see the tables as they stood after it.</p>',
    `<div class="ls-figure"><div class="ls-lanes-scroll">${lanesSvgElement(view.lanes, `${cx.scenario} ${cx.strategy} ${cx.isolation} interleaving`)}</div>${statePanels(view)}</div>`,
    '<h3>Workload</h3>',
    workloadTable(view),
    '<h3>Rerun</h3>',
    `<pre>${escapeXml(options.rerun ?? counterexampleRerun(cx))}</pre>`,
    '</section>',
  );
  return parts.join('\n');
}

/** The counterexample as the JSON a counterexample file holds. */
function fileData(cx: Counterexample): unknown {
  return { format: 'lockstep-counterexample', version: 1, ...cx };
}

/**
 * A counterexample as one self-contained HTML page (CSS, script, data and
 * SVG inline; no network), byte-identical for the same counterexample.
 * Hovering a step shows the tables after it.
 *
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { explore, renderCounterexampleHtml } from 'lockstep';
 * import { pointsDeduct } from 'lockstep/scenarios';
 * const { counterexample } = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 });
 * writeFileSync('lost-update.html', renderCounterexampleHtml(counterexample!, pointsDeduct));
 * ```
 */
export function renderCounterexampleHtml(cx: Counterexample, scenario: Scenario, options: HtmlReportOptions = {}): string {
  const view = viewCounterexample(cx, scenario);
  const title = `${cx.scenario} · ${cx.strategy} · ${cx.isolation}`;
  const body = [`<h1>${escapeXml(title)} <span class="ls-verdict ls-verdict-failed">FAILED</span></h1>`, counterexampleSection(view, options)].join('\n');
  return htmlPage({ title: `lockstep: ${title}`, body, data: fileData(cx) });
}

/**
 * An exploration as an HTML page: its counterexample when it failed (and
 * its replay on PostgreSQL, given one), or what was searched when it
 * passed. The statistics and timings are left out, so the same exploration
 * gives the same bytes.
 */
export function renderExploreHtml(report: ExploreReport, scenario: Scenario, options: ExploreHtmlOptions = {}): string {
  const title = `${report.scenario} · ${report.strategy} · ${report.isolation}`;
  const rerun = options.rerun ?? rerunCommand(report);
  const verdict = `<span class="ls-verdict ls-verdict-${report.status}">${report.status === 'failed' ? 'FAILED' : 'PASSED'}</span>`;
  const searched = `${report.mode} search, ${report.runs} runs, seed ${report.seed}`;
  const { stats: _, ...data } = report;
  if (!report.counterexample) {
    const body = [`<h1>${escapeXml(title)} ${verdict}</h1>`, `<p class="ls-sub">${escapeXml(searched)}: no run broke a rule.</p>`, '<h3>Rerun</h3>', `<pre>${escapeXml(rerun)}</pre>`].join('\n');
    return htmlPage({ title: `lockstep: ${title}`, body, data });
  }
  const view = viewCounterexample(report.counterexample, scenario);
  const parts = [`<h1>${escapeXml(title)} ${verdict}</h1>`, `<p class="ls-sub">${escapeXml(searched)}; the counterexample is shrunk to the smallest found.</p>`, counterexampleSection(view, { rerun })];
  if (options.replay) {
    const status = options.replay.status === 'confirmed' ? 'CONFIRMED' : 'DIVERGED';
    parts.push(`<h2>Replay on ${escapeXml(options.replay.database.version)} <span class="ls-verdict ls-verdict-${options.replay.status}">${status}</span></h2>`, replaySection(options.replay, report.counterexample, scenario));
  }
  const { elapsedMs: _elapsed, ...replay } = options.replay ?? { elapsedMs: 0 };
  return htmlPage({ title: `lockstep: ${title}`, body: parts.join('\n'), data: options.replay ? { ...data, replay } : data });
}
