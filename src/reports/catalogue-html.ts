import { isolationLevels } from '../adapters/backend.ts';
import type { CatalogueEntry, CatalogueRow } from '../explorer/catalogue-audit.ts';
import { checkRun } from '../explorer/violation.ts';
import { buildCounterexample, type Counterexample } from '../explorer/counterexample.ts';
import { runOnEngine } from '../explorer/runner.ts';
import { stepOrder } from '../explorer/schedule.ts';
import { counterexampleSection } from './counterexample-html.ts';
import { viewCounterexample } from './counterexample-view.ts';
import { htmlPage } from './html-page.ts';
import { escapeXml, slug } from './markup.ts';
import { modelEngine } from '../explorer/model-engine.ts';

/** A catalogue row's witness as a counterexample of its entry's scenario, or null when its schedule breaks no rule. */
function witnessCounterexample(entry: CatalogueEntry, row: CatalogueRow): Counterexample | null {
  if (!row.witness) return null;
  const { scenario } = entry;
  const strategy = Object.keys(scenario.strategies)[0];
  const spec = { scenario, strategy: scenario.strategies[strategy], isolation: row.isolation, workload: scenario.canonical };
  const trace = runOnEngine(modelEngine(scenario.schema), spec, stepOrder(row.witness.schedule));
  const violation = checkRun(scenario, trace);
  if (!violation) return null;
  return buildCounterexample({ scenario, strategy, isolation: row.isolation, workload: scenario.canonical, trace, violation, anomaly: row.witness.anomaly });
}

/**
 * The anomaly catalogue as one self-contained HTML page: a row per anomaly
 * and a column per isolation level, each cell saying whether the model and
 * PostgreSQL allow it (coloured by agreement), a cell where the model found
 * a witness linking to its swimlanes further down the page.
 */
export function renderCatalogueHtml(rows: readonly CatalogueRow[], entries: readonly CatalogueEntry[], database: string): string {
  const levels = isolationLevels.filter((l) => rows.some((r) => r.isolation === l));
  const anomalies = [...new Set(rows.map((r) => r.anomaly))];
  const anchor = (r: CatalogueRow) => `witness-${slug(`${r.anomaly} ${r.isolation}`)}`;
  const witnesses = new Map<CatalogueRow, { cx: Counterexample; entry: CatalogueEntry }>();
  for (const r of rows) {
    const entry = entries.find((e) => e.anomaly === r.anomaly);
    const cx = entry ? witnessCounterexample(entry, r) : null;
    if (entry && cx) witnesses.set(r, { cx, entry });
  }
  const cell = (r: CatalogueRow | undefined) => {
    if (!r) return '<td class="ls-cell"><small>not checked</small></td>';
    const agree = r.model === r.postgres && r.conformance === 'confirmed';
    const cls = ['ls-cell', r.model === 'possible' ? 'ls-cell-failed' : 'ls-cell-passed', agree ? '' : 'ls-cell-unexpected'].filter(Boolean).join(' ');
    const head = `${r.model === 'possible' ? '✗ possible' : '✓ prevented'}${agree ? '' : r.model !== r.postgres ? ' (DISAGREES)' : ' (DIVERGED)'}`;
    const details = [`model: ${r.model}`, `PostgreSQL: ${r.postgres}`, r.witness?.anomaly ? `${r.witness.anomaly.class} ${r.witness.anomaly.cycle}` : (r.prevention ?? '')].filter(Boolean);
    const title = witnesses.has(r) ? `<a href="#${anchor(r)}"><strong>${head}</strong></a>` : `<strong>${head}</strong>`;
    return `<td class="${cls}">${title}${details.map((d) => `<small>${escapeXml(d)}</small>`).join('')}</td>`;
  };
  const disagree = rows.filter((r) => r.model !== r.postgres || r.conformance !== 'confirmed');
  const summary = disagree.length
    ? `The model and ${database} disagree, or a replay diverged, on ${disagree.map((r) => `${r.anomaly} under ${r.isolation}`).join(', ')}.`
    : `The model and ${database} agree on all ${rows.length} rows, and every replayed schedule ran on ${database} exactly as the model predicted.`;
  const parts = [
    '<h1>lockstep anomaly catalogue</h1>',
    `<p class="ls-sub">${escapeXml(summary)}</p>`,
    '<p class="ls-note">Each cell: whether the isolation level lets the anomaly happen (✗ possible, ✓ prevented), in the model and on PostgreSQL. A possible anomaly links to the model’s witness below.</p>',
    `<table class="ls-table ls-matrix"><thead><tr><th>anomaly</th>${levels.map((l) => `<th>${l}</th>`).join('')}</tr></thead><tbody>`,
    ...anomalies.map((a) => `<tr><th>${escapeXml(a)}<small>${escapeXml(entries.find((e) => e.anomaly === a)?.title ?? '')}</small></th>${levels.map((l) => cell(rows.find((r) => r.anomaly === a && r.isolation === l))).join('')}</tr>`),
    '</tbody></table>',
  ];
  if (witnesses.size) parts.push('<h2>Witnesses</h2>');
  for (const [row, { cx, entry }] of witnesses) {
    const id = anchor(row);
    const view = viewCounterexample(cx, entry.scenario, `${id}-`);
    parts.push(counterexampleSection(view, { id, heading: `${row.anomaly} under ${row.isolation}: ${entry.title}`, rerun: `npx lockstep audit --catalogue --anomaly ${row.anomaly} --isolation ${row.isolation}` }));
  }
  return htmlPage({ title: 'lockstep anomaly catalogue', body: parts.join('\n'), data: { database, rows } });
}
