import { textTable } from '../explorer/text-table.ts';
import { plural } from '../model/invariants.ts';
import { formatDuration } from './duration.ts';
import type { LatencySummary } from './latency-histogram.ts';
import type { OperationReport } from './operation-stats.ts';
import type { StressReport, ThresholdResult } from './stress.ts';

/**
 * The text `lockstep stress` prints: what ran where, the thresholds first
 * (✓/✗), a row per operation with its count, rate and latency percentiles,
 * the outcomes and errors, the run over time, connections and memory, the
 * rules over the final tables beside the model's declared verdict, and the
 * verdict.
 */
export function formatStressReport(r: StressReport): string {
  return [header(r), thresholds(r), operations(r), outcomes(r), overTime(r), rules(r), verdict(r)].filter((s) => s !== '').join('\n\n');
}

function header(r: StressReport): string {
  const load =
    r.rate !== undefined
      ? `open model, ${num(r.rate)} arrivals/s`
      : r.burst !== undefined
        ? `open model, bursts of ${r.burst.size} every ${formatDuration(r.burst.idleMs)}`
        : 'closed model';
  const workload = { generated: `generated from the scenario's arbitraries (seed ${r.seed})`, canonical: "the scenario's canonical workload, repeated", profile: "the profile's", given: 'as given' }[r.workload];
  return [
    `Stress on PostgreSQL ${r.server.version} · ${r.scenario} · ${r.strategy} · ${r.isolation}${r.profile ? ` · profile ${r.profile}` : ''}`,
    `${count(r.clients, 'client')} · pool of ${r.pool} · ${load} · ${count(r.transactions, 'transaction')} in ${formatDuration(r.elapsedMs)} (${num(r.tps)} tx/s) · workload ${workload}`,
    `Server: max_connections ${r.server.max_connections}, synchronous_commit ${r.server.synchronous_commit} · machine: ${plural(r.machine.cores, 'core')}, Node ${r.machine.node}`,
  ].join('\n');
}

function thresholds(r: StressReport): string {
  if (r.thresholds.length === 0) return '';
  return `Thresholds\n${textTable(r.thresholds.map((t) => [`${t.ok ? '✓' : '✗'} ${t.expr}`, shown(t)]), 60)}`;
}

function shown(t: ThresholdResult): string {
  return t.unit === 'ms' ? `${num(t.value)} ms` : t.unit === 'MiB' ? `${num(t.value)} MiB` : num(t.value);
}

function operations(r: StressReport): string {
  const seconds = r.elapsedMs / 1000;
  const rows: string[][] = [['operation', '', 'count', 'tx/s', 'p50', 'p90', 'p95', 'p99', 'max (ms)']];
  const add = (name: string, op: OperationReport) => {
    const rate = seconds > 0 ? num(op.count / seconds) : '-';
    rows.push([name, 'latency', String(op.count), rate, ...percentiles(op.latencyMs)]);
    rows.push(['', 'pool wait', '', '', ...percentiles(op.acquireMs)]);
    rows.push(['', 'service', '', '', ...percentiles(op.serviceMs)]);
  };
  for (const [name, op] of Object.entries(r.operations)) if (op.count > 0) add(name, op);
  if (Object.values(r.operations).filter((op) => op.count > 0).length > 1) add('all', r.total);
  const note =
    r.loadModel === 'open'
      ? "Latency counts from each transaction's scheduled arrival: the wait for a free client, the pool wait and the service (holding the connection)."
      : "Latency counts from each transaction's intended start (its client ready): the pool wait and the service (holding the connection).";
  return `Operations\n${textTable(rows, 40)}\n  ${note}\n  Client time per operation while holding the connection (running the program, compiling SQL, Node's event loop): ${num(r.total.overheadMs)} ms.`;
}

function percentiles(s: LatencySummary): string[] {
  return [s.p50, s.p90, s.p95, s.p99, s.max].map(num);
}

function outcomes(r: StressReport): string {
  const lines = ['Outcomes'];
  for (const [name, op] of Object.entries(r.operations)) {
    if (op.count === 0) continue;
    const counts = Object.entries(op.outcomes).map(([key, n]) => `${key} ${n.toLocaleString('en-US')}`);
    const retried = op.attempts.retried > 0 ? ` (${plural(op.attempts.retried, 'operation')} retried, ${op.attempts.total.toLocaleString('en-US')} attempts in all, at most ${op.attempts.max})` : '';
    lines.push(`  ${name}: ${counts.join(' · ')}${retried}`);
  }
  const errors = Object.entries(r.total.errors);
  if (errors.length > 0) {
    lines.push('  Errors seen (also those a program handled):');
    for (const [code, e] of errors) lines.push(`    ${code} × ${e.count.toLocaleString('en-US')}: ${e.messages.map((m) => `"${m}"`).join('; ')}`);
  }
  return lines.join('\n');
}

function overTime(r: StressReport): string {
  const lines = ['Over time'];
  if (r.timeline.length <= 60) {
    lines.push(`  tx/s per second:     ${r.timeline.map((s) => s.completed).join(' ')}`);
    lines.push(`  p95 per second (ms): ${r.timeline.map((s) => num(s.p95Ms)).join(' ')}`);
  }
  lines.push(`  ${r.stability.reason}`);
  const rss = r.resources.rssMiB;
  lines.push(
    `  Connections: at most ${r.maxConnections} on the server (pool of ${r.pool}, max_connections ${r.server.max_connections}) · RSS ${num(rss.first)} → ${num(rss.last)} MiB (peak ${num(rss.peak)}; last third ${r.resources.rssGrowthMiB >= 0 ? '+' : ''}${num(r.resources.rssGrowthMiB)} MiB on the first)`,
  );
  return lines.join('\n');
}

function rules(r: StressReport): string {
  const sizes = Object.entries(r.final).map(([table, rows]) => `${table} ${count(r.finalTruncated?.[table]?.total ?? rows.length, 'row')}`);
  const lines = [`Rules over the final tables (${sizes.join(', ')}) and every transaction's outcome`];
  for (const rule of r.rules) lines.push(`  ${rule.holds ? '✓' : '✗'} ${rule.invariant}${rule.message ? `: ${rule.message}` : ''}`);
  lines.push(`  ${modelSentence(r)}`);
  return lines.join('\n');
}

function modelSentence(r: StressReport): string {
  const broke = r.rules.some((rule) => !rule.holds);
  const who = `${r.strategy} under ${r.isolation}`;
  const rerun = `lockstep explore ${r.scenario} --strategy ${r.strategy} --isolation ${r.isolation}`;
  switch (r.model.verdict) {
    case 'fails':
      return broke
        ? `The model declares ${who} unsafe (fails), and this load broke it on PostgreSQL.`
        : `The model declares ${who} unsafe (fails); this load did not hit the race (races depend on timing), ${rerun} finds it.`;
    case 'passes':
      return broke
        ? `The model declares ${who} safe (passes) for workloads of its size, yet this load broke a rule: look at the outcomes above (a workload larger than the model's, pool timeouts and lost connections are not in the model), and at ${rerun}.`
        : `The model declares ${who} safe (passes), and this load agrees.`;
    default:
      return `The strategy declares no verdict for ${r.isolation}.`;
  }
}

function verdict(r: StressReport): string {
  const broken = r.rules.filter((rule) => !rule.holds).length;
  const crossed = r.thresholds.filter((t) => !t.ok).length;
  if (r.status === 'passed') return `PASSED: every rule held${r.thresholds.length > 0 ? ` and ${plural(r.thresholds.length, 'threshold')} met` : ''}.`;
  const parts = [broken > 0 ? `${plural(broken, 'rule')} broken` : '', crossed > 0 ? `${crossed} of ${plural(r.thresholds.length, 'threshold')} crossed` : ''].filter(Boolean);
  return `FAILED: ${parts.join(', ')}.`;
}

/** `1 row`, `18,142 rows`. */
function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
}

/** A number for a report: whole above 100 (with separators), else to one decimal place (two under 1). */
function num(x: number): string {
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 1 || x === 0) return String(Number(x.toFixed(1)));
  return String(Number(x.toFixed(3)));
}
