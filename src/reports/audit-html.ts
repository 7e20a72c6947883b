import type { IsolationLevel } from '../adapters/backend.ts';
import { isolationLevels } from '../adapters/backend.ts';
import type { AuditRow } from '../explorer/audit.ts';
import { rerunCommand } from '../explorer/explore-report.ts';
import type { Scenario } from '../model/scenario.ts';
import { counterexampleRerun, counterexampleSection } from './counterexample-html.ts';
import { viewCounterexample } from './counterexample-view.ts';
import { htmlPage } from './html-page.ts';
import { escapeXml, slug } from './markup.ts';

/** A verdict other than the one the strategy declares. */
export function unexpected(row: AuditRow): boolean {
  return row.expected !== undefined && (row.expected === 'passes') !== (row.status === 'passed');
}

/** The anchor of a row's counterexample section. */
export function auditAnchor(row: Pick<AuditRow, 'scenario' | 'strategy' | 'isolation'>): string {
  return `cx-${slug(`${row.scenario} ${row.strategy} ${row.isolation}`)}`;
}

function cell(row: AuditRow | undefined): string {
  if (!row) return '<td class="ls-cell"><small>not checked</small></td>';
  const odd = unexpected(row);
  const cls = ['ls-cell', `ls-cell-${row.status}`, odd ? 'ls-cell-unexpected' : ''].filter(Boolean).join(' ');
  const verdict = `${row.status === 'failed' ? '✗ failed' : '✓ passed'}${odd ? ' (UNEXPECTED)' : ''}`;
  const head = row.counterexample ? `<a href="#${auditAnchor(row)}"><strong>${verdict}</strong></a>` : `<strong>${verdict}</strong>`;
  const details: string[] = [];
  if (row.invariant) details.push(`broke ${row.invariant}`);
  if (row.anomaly) details.push(`anomaly: ${row.anomaly}`);
  if (row.transactions !== undefined) details.push(`${row.transactions} tx, ${row.preemptions} preemption${row.preemptions === 1 ? '' : 's'}`);
  details.push(`${row.blocksPerRun.toFixed(2)} blocks/run, ${row.abortsPerRun.toFixed(2)} aborts/run`);
  if (row.postgres) details.push(`PostgreSQL: ${row.postgres}`);
  return `<td class="${cls}">${head}${details.map((d) => `<small>${escapeXml(d)}</small>`).join('')}</td>`;
}

/** The audit's closing summary: how many passed and failed, the unexpected verdicts, PostgreSQL's word. */
export function auditSummary(rows: readonly AuditRow[], database?: string): string {
  const failed = rows.filter((r) => r.status === 'failed').length;
  const odd = rows.filter(unexpected);
  const parts = [`${rows.length} combinations: ${rows.length - failed} passed, ${failed} failed.`];
  if (odd.length) parts.push(`Unexpected verdicts: ${odd.map((r) => `${r.scenario} ${r.strategy} ${r.isolation}`).join(', ')}.`);
  else parts.push('Every verdict is the one its strategy declares.');
  if (database) {
    const diverged = rows.filter((r) => r.postgres === 'diverged');
    parts.push(
      diverged.length === 0
        ? `${database} confirmed every replayed counterexample and sampled schedule.`
        : `${database} diverged from the model for ${diverged.map((r) => `${r.scenario} ${r.strategy} ${r.isolation}`).join(', ')}.`,
    );
  }
  return parts.join(' ');
}

/** Options of the audit page. */
export interface AuditHtmlOptions {
  /** The PostgreSQL the audit replayed on, if it did. */
  readonly database?: string;
  /** The audit's runs and seed, for each counterexample's rerun command. */
  readonly runs?: number;
  readonly seed?: number;
}

/**
 * The audit matrix as one self-contained HTML page: a table per scenario
 * with a row per strategy and a column per isolation level, each cell
 * coloured (and marked ✓ or ✗) by its verdict and outlined when the verdict
 * is not the declared one; each failing cell links to its counterexample's
 * swimlanes further down the same page. `scenarios` are those the rows
 * name (for re-running their counterexamples).
 *
 * ```ts
 * const rows = [await auditStrategy(pointsDeduct, 'naive', 'read-committed', { runs: 500, seed: 1 })];
 * writeFileSync('audit.html', renderAuditHtml(rows, [pointsDeduct]));
 * ```
 */
export function renderAuditHtml(rows: readonly AuditRow[], scenarios: readonly Scenario[], options: AuditHtmlOptions = {}): string {
  const levels = isolationLevels.filter((l) => rows.some((r) => r.isolation === l));
  const byScenario = new Map<string, AuditRow[]>();
  for (const r of rows) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r]);
  const parts: string[] = ['<h1>lockstep audit</h1>', `<p class="ls-sub">${escapeXml(auditSummary(rows, options.database))}</p>`];
  parts.push('<p class="ls-note">Each cell is a strategy under an isolation level: ✓ passed (no run broke a rule) or ✗ failed, with the broken rule, the anomaly, the size of the shrunk counterexample and the cost in lock waits and aborts per run. A double outline marks a verdict other than the one the strategy declares. A failed verdict links to its counterexample below.</p>');
  for (const [scenario, mine] of byScenario) {
    const strategies = [...new Set(mine.map((r) => r.strategy))];
    const head = `<tr><th>strategy</th>${levels.map((l) => `<th>${l}</th>`).join('')}</tr>`;
    const body = strategies.map((s) => `<tr><th>${escapeXml(s)}</th>${levels.map((l: IsolationLevel) => cell(mine.find((r) => r.strategy === s && r.isolation === l))).join('')}</tr>`);
    parts.push(`<h2 id="${escapeXml(`scenario-${slug(scenario)}`)}">${escapeXml(scenario)}</h2>`, `<table class="ls-table ls-matrix"><thead>${head}</thead><tbody>${body.join('')}</tbody></table>`);
  }
  const failing = rows.filter((r) => r.counterexample);
  if (failing.length) parts.push('<h2>Counterexamples</h2>');
  for (const row of failing) {
    const scenario = scenarios.find((s) => s.id === row.scenario);
    if (!scenario) continue;
    const anchor = auditAnchor(row);
    const view = viewCounterexample(row.counterexample!, scenario, `${anchor}-`);
    parts.push(counterexampleSection(view, { id: anchor, heading: `${row.scenario} · ${row.strategy} · ${row.isolation}`, rerun: options.runs !== undefined && options.seed !== undefined ? rerunCommand({ ...row, runs: options.runs, seed: options.seed }) : counterexampleRerun(row.counterexample!) }));
    parts.push(`<p><a href="#scenario-${escapeXml(slug(row.scenario))}">↑ back to the ${escapeXml(row.scenario)} matrix</a></p>`);
  }
  const data = { ...(options.database ? { database: options.database } : {}), rows: rows.map(({ counterexample: _, ...row }) => row) };
  return htmlPage({ title: 'lockstep audit', body: parts.join('\n'), data });
}
