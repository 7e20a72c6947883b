import type { AuditRow } from './audit.ts';
import { textTable } from './text-table.ts';

const header = ['scenario', 'strategy', 'isolation', 'verdict', 'broken rule', 'anomaly', 'size', 'blocks/run', 'aborts/run', 'PostgreSQL'];

function cells(row: AuditRow): string[] {
  const unexpected = row.expected !== undefined && (row.expected === 'passes') !== (row.status === 'passed');
  return [
    row.scenario,
    row.strategy,
    row.isolation,
    `${row.status}${unexpected ? ' (UNEXPECTED)' : ''}`,
    row.invariant ?? '-',
    row.anomaly ?? '-',
    row.transactions !== undefined ? `${row.transactions} tx, ${row.preemptions} preemption${row.preemptions === 1 ? '' : 's'}` : '-',
    row.blocksPerRun.toFixed(2),
    row.abortsPerRun.toFixed(2),
    row.postgres ?? '-',
  ];
}

/** The audit matrix for a terminal, with a closing summary. */
export function formatAudit(rows: readonly AuditRow[], database?: string): string {
  return `${textTable([header, ...rows.map(cells)], 40)}\n\n${summary(rows, database)}`;
}

/** The audit matrix as Markdown, for a README. */
export function formatAuditMarkdown(rows: readonly AuditRow[], database?: string): string {
  const line = (r: readonly string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map((r) => line(cells(r))), '', summary(rows, database)].join('\n');
}

function summary(rows: readonly AuditRow[], database?: string): string {
  const failed = rows.filter((r) => r.status === 'failed').length;
  const unexpected = rows.filter((r) => r.expected !== undefined && (r.expected === 'passes') !== (r.status === 'passed'));
  const parts = [`${rows.length} combinations: ${rows.length - failed} passed, ${failed} failed.`];
  if (unexpected.length) parts.push(`Unexpected verdicts: ${unexpected.map((r) => `${r.scenario} ${r.strategy} ${r.isolation}`).join(', ')}.`);
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
