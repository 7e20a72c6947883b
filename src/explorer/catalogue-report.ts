import type { CatalogueRow } from './catalogue-audit.ts';
import { textTable } from './text-table.ts';

const header = ['anomaly', 'isolation', 'model', 'PostgreSQL', 'witness (model) or what prevents it', 'cycle'];

function cells(row: CatalogueRow): string[] {
  const agree = row.model === row.postgres && row.conformance === 'confirmed';
  return [
    row.anomaly,
    row.isolation,
    row.model,
    `${row.postgres}${agree ? '' : row.model !== row.postgres ? '  DISAGREES' : '  DIVERGED'}`,
    row.witness ? row.witness.schedule.map((t) => `T${t}`).join(' ') : (row.prevention ?? '-'),
    row.witness?.anomaly ? `${row.witness.anomaly.cycle}  ${row.witness.anomaly.class}` : '-',
  ];
}

/** The catalogue table for a terminal, with a closing sentence on agreement. */
export function formatCatalogue(rows: readonly CatalogueRow[], database: string): string {
  return `${textTable([header, ...rows.map(cells)], 60)}\n\n${summary(rows, database)}`;
}

/** The catalogue table as Markdown, for a README. */
export function formatCatalogueMarkdown(rows: readonly CatalogueRow[], database: string): string {
  const line = (r: readonly string[]) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map((r) => line(cells(r))), '', summary(rows, database)].join('\n');
}

function summary(rows: readonly CatalogueRow[], database: string): string {
  const disagree = rows.filter((r) => r.model !== r.postgres);
  const diverged = rows.filter((r) => r.conformance !== 'confirmed');
  if (disagree.length === 0 && diverged.length === 0) {
    return `The model and ${database} agree on all ${rows.length} rows, and every replayed schedule ran on ${database} exactly as the model predicted.`;
  }
  const names = (rs: readonly CatalogueRow[]) => rs.map((r) => `${r.anomaly} under ${r.isolation}`).join(', ');
  return [
    disagree.length ? `The model and ${database} disagree on ${names(disagree)}.` : '',
    diverged.length ? `Replays diverged from the model for ${names(diverged)}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}
