import type { OperationReport } from '../stress/operation-stats.ts';
import type { StressReport } from '../stress/stress.ts';
import { htmlPage } from './html-page.ts';
import { escapeXml, num } from './markup.ts';
import { tablesHtml } from './state-tables.ts';
import { timelineSvg } from './timeline-svg.ts';

const ms = (n: number) => `${num(n)} ms`;

function operationRow(name: string, op: OperationReport, total = false): string {
  const l = op.latencyMs;
  const outcomes = Object.entries(op.outcomes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  const errors = Object.entries(op.errors)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, e]) => `${code}: ${e.count}`)
    .join(', ');
  const cells = [name, String(op.count), ms(l.p50), ms(l.p90), ms(l.p95), ms(l.p99), ms(l.max), ms(op.acquireMs.p95), escapeXml(outcomes || '-'), escapeXml(errors || '-'), `${op.attempts.retried}`];
  const tag = total ? 'th' : 'td';
  return `<tr>${cells.map((c) => `<${tag}>${c}</${tag}>`).join('')}</tr>`;
}

/**
 * A `lockstep stress` run as one self-contained HTML page: the verdict, what
 * ran where, the thresholds and the scenario's rules (✓ or ✗), a row per
 * operation with its latency percentiles, pool wait, outcomes and errors by
 * SQLSTATE, the run over time as a chart, and the final tables. The same
 * report gives the same bytes (the report itself holds the timings it
 * measured).
 *
 * ```ts
 * import { stress, renderStressHtml } from 'lockstep';
 * writeFileSync('stress.html', renderStressHtml(await stress({ scenario: pointsDeduct, strategy: 'atomic-update' })));
 * ```
 */
export function renderStressHtml(r: StressReport): string {
  const title = `Stress on PostgreSQL ${r.server.version} · ${r.scenario} · ${r.strategy} · ${r.isolation}${r.profile ? ` · profile ${r.profile}` : ''}`;
  const load = r.rate !== undefined ? `open model, ${num(r.rate)} arrivals/s` : r.burst !== undefined ? `open model, bursts of ${r.burst.size} every ${r.burst.idleMs} ms` : 'closed model';
  const parts = [
    `<h1>${escapeXml(title)} <span class="ls-verdict ls-verdict-${r.status}">${r.status === 'passed' ? 'PASSED' : 'FAILED'}</span></h1>`,
    `<p class="ls-sub">${escapeXml(`${r.clients} clients · pool of ${r.pool} · ${load} · ${r.transactions} transactions in ${num(r.elapsedMs / 1000)} s (${num(r.tps)} tx/s) · workload ${r.workload}, seed ${r.seed} · ${r.machine.cores} cores, Node ${r.machine.node}`)}</p>`,
  ];
  if (r.thresholds.length) {
    const rows = r.thresholds.map((t) => `<tr><td class="${t.ok ? 'ls-ok' : 'ls-bad'}">${t.ok ? '✓' : '✗'}</td><td><code>${escapeXml(t.expr)}</code></td><td>${num(t.value)}${t.unit ? ` ${t.unit}` : ''}</td></tr>`);
    parts.push('<h2>Thresholds</h2>', `<table class="ls-table"><thead><tr><th></th><th>threshold</th><th>measured</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  }
  const declared = r.model.verdict === null ? 'declares no verdict for this level' : `declares that it ${r.model.verdict} under ${r.isolation}`;
  parts.push(
    '<h2>Rules over the final tables</h2>',
    `<ul>${r.rules.map((rule) => `<li><span class="${rule.holds ? 'ls-ok' : 'ls-bad'}">${rule.holds ? '✓' : '✗'}</span> <strong>${escapeXml(rule.invariant)}</strong>${rule.message ? `: ${escapeXml(rule.message)}` : ''}</li>`).join('')}</ul>`,
    `<p class="ls-note">${escapeXml(`The strategy ${declared}; lockstep explore and audit check that verdict on the model.`)}</p>`,
  );
  const head = ['operation', 'count', 'p50', 'p90', 'p95', 'p99', 'max', 'pool wait p95', 'outcomes', 'errors by SQLSTATE', 'retried'];
  const ops = Object.keys(r.operations)
    .sort()
    .map((name) => operationRow(escapeXml(name), r.operations[name]));
  parts.push(
    '<h2>Operations</h2>',
    `<table class="ls-table"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${ops.join('')}${operationRow('all', r.total, true)}</tbody></table>`,
    '<p class="ls-note">Latency counts from the intended start (the client ready, or the scheduled arrival) to the end, pool wait included.</p>',
  );
  parts.push('<h2>Over time</h2>', timelineSvg(r.timeline), `<p>${escapeXml(r.stability.reason)}</p>`);
  const schema = Object.fromEntries(Object.entries(r.final).map(([name, rows]) => [name, { columns: Object.fromEntries(Object.keys(rows[0] ?? {}).map((c) => [c, 'text' as const])), primaryKey: [] }]));
  parts.push('<h2>Final tables</h2>', tablesHtml(schema, r.final as Record<string, never[]>));
  for (const [table, t] of Object.entries(r.finalTruncated ?? {})) parts.push(`<p class="ls-note">${escapeXml(`${table}: the first ${t.shown} of ${t.total} rows.`)}</p>`);
  return htmlPage({ title: `lockstep: ${title}`, body: parts.join('\n'), data: r });
}
