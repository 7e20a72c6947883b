import { DefinitionError, thrownName } from '../errors.ts';
import type { RunOutcome } from '../model/scenario.ts';
import { canonicalTables, type Row, type Tables } from '../model/schema.ts';
import type { LoadResult } from './load-driver.ts';
import type { ResourceReport, ServerReport } from './resource-monitor.ts';
import type { RuleResult, StressPlan, StressReport, ThresholdResult } from './stress.ts';
import { meets, thresholdUnit, type Threshold } from './threshold.ts';

/** Rows of a table a report keeps. */
export const finalRowsShown = 1000;

/**
 * Turns what a run measured into its report: the final tables (as the model
 * holds them), the rules checked over them and every transaction's outcome,
 * the thresholds, and the verdict.
 */
export function stressFindings(
  plan: StressPlan,
  load: LoadResult,
  rawTables: Record<string, Record<string, unknown>[]>,
  resources: ResourceReport,
  server: ServerReport,
  machine: StressReport['machine'],
): StressReport {
  const final = plainTables(plan, rawTables);
  const rules = checkRules(plan, { initial: plan.seedRows, final, outcomes: load.outcomes });
  const operations = Object.fromEntries([...load.operations].map(([op, stats]) => [op, stats.report()]));
  const total = load.total.report();
  const stability = load.timeline.stability(load.elapsedMs);
  const tps = round(load.total.count / (load.elapsedMs / 1000));
  const maxConnections = resources.peakConnections;
  const metrics: Metrics = {
    latency: (part, stat, operation) => {
      const report = operation === undefined ? total : operations[operation];
      const summary = report[part === 'latency' ? 'latencyMs' : part === 'acquire' ? 'acquireMs' : 'serviceMs'];
      return stat === 'avg' ? summary.mean : summary[stat];
    },
    count: (outcome) => (outcome === 'error' ? load.total.failures : outcome === 'retried' ? load.total.retriedCount : load.total.outcomeCount(outcome)),
    total: load.total.count,
    tps,
    invariants: rules.filter((r) => !r.holds).length,
    throughputDrop: stability.throughputDrop ?? 0,
    rssGrowthMiB: resources.rssGrowthMiB,
    connections: maxConnections,
  };
  const thresholds = plan.thresholds.map((t) => evaluate(t, metrics));
  const { shown, truncated } = cut(final);
  return {
    scenario: plan.scenario.id,
    strategy: plan.strategy,
    isolation: plan.isolation,
    ...(plan.profile ? { profile: plan.profile.name } : {}),
    clients: plan.clients,
    pool: plan.pool,
    loadModel: plan.rate !== undefined || plan.burst !== undefined ? 'open' : 'closed',
    ...(plan.rate !== undefined ? { rate: plan.rate } : {}),
    ...(plan.burst !== undefined ? { burst: plan.burst } : {}),
    workload: plan.workloadKind,
    seed: plan.seed,
    protocol: plan.protocol,
    transactions: load.total.count,
    ...(plan.durationMs !== undefined ? { durationMs: plan.durationMs } : {}),
    elapsedMs: Math.round(load.elapsedMs),
    tps,
    operations,
    total,
    thresholds,
    rules,
    model: { verdict: plan.scenario.strategies[plan.strategy].expected[plan.isolation] ?? null },
    final: shown,
    ...(truncated ? { finalTruncated: truncated } : {}),
    timeline: load.timeline.report(),
    stability,
    resources,
    maxConnections,
    server,
    machine,
    status: rules.every((r) => r.holds) && thresholds.every((t) => t.ok) ? 'passed' : 'failed',
  };
}

/** Every invariant of the scenario (and of the profile), each checked, not only the first that breaks. */
export function checkRules(plan: StressPlan, run: RunOutcome): RuleResult[] {
  return plan.invariants.map((invariant) => {
    let message: string | null;
    try {
      message = invariant.check(run);
    } catch (e) {
      throw new DefinitionError(`Scenario ${plan.scenario.id}: invariant ${invariant.name} threw ${thrownName(e)}.`, { cause: e });
    }
    return message === null ? { invariant: invariant.name, holds: true } : { invariant: invariant.name, holds: false, message };
  });
}

/** What thresholds read from a run. */
interface Metrics {
  latency(part: 'latency' | 'acquire' | 'service', stat: 'p50' | 'p90' | 'p95' | 'p99' | 'max' | 'avg', operation?: string): number;
  count(outcome: string): number;
  readonly total: number;
  readonly tps: number;
  readonly invariants: number;
  readonly throughputDrop: number;
  readonly rssGrowthMiB: number;
  readonly connections: number;
}

function evaluate(t: Threshold, m: Metrics): ThresholdResult {
  const metric = t.metric;
  let value: number;
  switch (metric.kind) {
    case 'latency':
      value = m.latency(metric.part, metric.stat, metric.operation);
      break;
    case 'rate':
      value = m.total === 0 ? 0 : round(m.count(metric.outcome) / m.total);
      break;
    case 'count':
      value = m.count(metric.outcome);
      break;
    case 'tps':
      value = m.tps;
      break;
    case 'invariants':
      value = m.invariants;
      break;
    case 'throughput_drop':
      value = m.throughputDrop;
      break;
    case 'rss_growth':
      value = m.rssGrowthMiB;
      break;
    case 'connections':
      value = m.connections;
      break;
  }
  return { expr: t.expr, value, unit: thresholdUnit(metric), ok: meets(t, value) };
}

/** The server's rows as the model's tables: the schema's columns in order, rows in primary-key order. */
function plainTables(plan: StressPlan, raw: Record<string, Record<string, unknown>[]>): Tables {
  const out: Tables = {};
  for (const [name, table] of Object.entries(plan.scenario.schema)) {
    const columns = Object.keys(table.columns);
    out[name] = (raw[name] ?? []).map((r) => {
      const row: Row = {};
      for (const c of columns) row[c] = r[c] as Row[string];
      return row;
    });
  }
  return canonicalTables(plan.scenario.schema, out);
}

function cut(final: Tables): { shown: Tables; truncated?: Record<string, { shown: number; total: number }> } {
  const shown: Tables = {};
  const truncated: Record<string, { shown: number; total: number }> = {};
  for (const [name, rows] of Object.entries(final)) {
    shown[name] = rows.length > finalRowsShown ? rows.slice(0, finalRowsShown) : rows;
    if (rows.length > finalRowsShown) truncated[name] = { shown: finalRowsShown, total: rows.length };
  }
  return Object.keys(truncated).length > 0 ? { shown, truncated } : { shown };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

