import type { Row, Schema, Tables, Value } from '../model/schema.ts';
import { formatRow } from './lanes.ts';
import { escapeXml } from './markup.ts';
import type { UncommittedWrite } from './step-history.ts';

const cell = (v: Value | undefined) => (v === undefined ? '' : typeof v === 'string' ? JSON.stringify(v) : String(v));

function keyOf(schema: Schema, table: string, row: Row): string {
  return schema[table].primaryKey.map((c) => cell(row[c])).join(',');
}

/**
 * Every table as an HTML table, with what changed since `before` marked:
 * a new row, a changed cell (also in bold and underlined, for print and for
 * readers who do not tell the colours apart), and rows deleted since, struck
 * through.
 */
export function tablesHtml(schema: Schema, tables: Tables, before?: Tables): string {
  const parts: string[] = [];
  for (const name of Object.keys(schema)) {
    const columns = Object.keys(schema[name].columns);
    const rows = tables[name] ?? [];
    const old = new Map((before?.[name] ?? []).map((r) => [keyOf(schema, name, r), r]));
    const kept = new Set<string>();
    const body = rows.map((row) => {
      const key = keyOf(schema, name, row);
      kept.add(key);
      const was = old.get(key);
      const isNew = before !== undefined && !was;
      const cells = columns.map((c) => {
        const changed = before !== undefined && was !== undefined && cell(was[c]) !== cell(row[c]);
        const title = changed ? ` title="was ${escapeXml(cell(was![c]))}"` : '';
        return `<td${changed ? ` class="ls-changed"${title}` : ''}>${escapeXml(cell(row[c]))}</td>`;
      });
      return `<tr${isNew ? ' class="ls-new" title="new row"' : ''}>${cells.join('')}</tr>`;
    });
    for (const [key, row] of old) {
      if (!kept.has(key)) body.push(`<tr class="ls-gone" title="deleted">${columns.map((c) => `<td>${escapeXml(cell(row[c]))}</td>`).join('')}</tr>`);
    }
    if (body.length === 0) body.push(`<tr><td colspan="${columns.length}" class="ls-empty">no rows</td></tr>`);
    parts.push(
      `<table class="ls-table"><caption>${escapeXml(name)}</caption><thead><tr>${columns.map((c) => `<th>${escapeXml(c)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`,
    );
  }
  return parts.join('\n');
}

/** Writes not yet committed, one line each: `T2 updated accounts: id=1 balance=2700`. */
export function uncommittedHtml(writes: readonly UncommittedWrite[]): string {
  if (writes.length === 0) return '';
  const verb = { insert: 'inserted into', update: 'updated', delete: 'deleted from' } as const;
  const items = writes.map((w) => `<li>T${w.tx} ${verb[w.kind]} ${escapeXml(w.table)}: <code>${escapeXml(formatRow(w.row))}</code></li>`);
  return `<p class="ls-pending-title">Not committed yet (other transactions do not see these):</p><ul class="ls-pending">${items.join('')}</ul>`;
}
