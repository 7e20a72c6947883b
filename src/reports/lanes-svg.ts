import type { BoxMark } from './lanes.ts';
import type { LaneLayout, PlacedBox, PlacedConnector, PlacedText } from './lane-layout.ts';
import { escapeXml, num } from './markup.ts';
import { txClass } from './report-style.ts';
import { textWidth } from './text-width.ts';

/** One line of text as an SVG `<text>`. */
export function svgText(t: PlacedText, extraClass = ''): string {
  const cls = [`ls-t-${t.tone}`, t.face === 'mono' ? 'ls-mono' : '', extraClass].filter(Boolean).join(' ');
  const anchor = t.anchor && t.anchor !== 'start' ? ` text-anchor="${t.anchor}"` : '';
  return `<text x="${num(t.x)}" y="${num(t.y)}" font-size="${t.size}" class="${cls}"${anchor}>${escapeXml(t.text)}</text>`;
}

const connectorKinds = ['ww', 'wr', 'rw', 'wait', 'release'] as const;

/** Arrowheads and the hatch of lock waits, with ids under prefix `p`: every drawing that uses them carries them. */
export function drawingDefs(p: string): string {
  const heads = connectorKinds.map(
    (k) => `<marker id="${p}head-${k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" class="ls-head-${k}"/></marker>`,
  );
  const hatch = `<pattern id="${p}hatch" patternUnits="userSpaceOnUse" width="8" height="8" patternTransform="rotate(45)"><rect width="8" height="8" class="ls-hatch-bg"/><line x1="0" y1="0" x2="0" y2="8" class="ls-hatch-line"/></pattern>`;
  return `<defs>${heads.join('')}${hatch}</defs>`;
}

/** The icon of a statement's end at the top right of its box: a check, a cross, a return arrow, a pause, a play sign. */
function markIcon(box: PlacedBox, mark: BoxMark): string {
  const cx = box.x + box.w - 14;
  const cy = box.y + 13;
  const at = `transform="translate(${num(cx)} ${num(cy)})"`;
  switch (mark) {
    case 'commit':
      return `<g ${at}><circle r="8" class="ls-icon-commit"/><path d="M-4 0.5 L-1.2 3.3 L4 -2.8" class="ls-icon-glyph"/><title>committed</title></g>`;
    case 'error':
      return `<g ${at}><circle r="8" class="ls-icon-error"/><path d="M-3.2 -3.2 L3.2 3.2 M3.2 -3.2 L-3.2 3.2" class="ls-icon-glyph"/><title>error</title></g>`;
    case 'rollback':
      return `<g ${at}><circle r="8" class="ls-icon-rollback"/><path d="M3.4 1.2 A3.8 3.8 0 1 1 1.6 -3.4 M1.2 -5.6 L1.8 -3.3 L-0.6 -2.6" class="ls-icon-glyph"/><title>rolled back</title></g>`;
    case 'blocked':
      return `<g ${at}><circle r="8" class="ls-icon-wait"/><path d="M-2 -3.5 L-2 3.5 M2 -3.5 L2 3.5" class="ls-icon-glyph"/><title>waits for a lock</title></g>`;
    case 'released':
      return `<g ${at}><circle r="8" class="ls-icon-wait"/><path d="M-2 -3.6 L3.4 0 L-2 3.6 z" class="ls-icon-glyph"/><title>released</title></g>`;
  }
}

const codeAt = /^[0-9A-Z]{5} /;

/** An error line with its SQLSTATE on a badge: `[40001] could not serialize access ...`. */
function errorLine(t: PlacedText): string {
  const code = t.text.slice(0, 5);
  const w = textWidth(code, 'mono', t.size) + 6;
  return [
    `<rect x="${num(t.x - 3)}" y="${num(t.y - t.size + 1)}" width="${num(w)}" height="${num(t.size + 3)}" rx="3" class="ls-code-badge"/>`,
    `<text x="${num(t.x)}" y="${num(t.y)}" font-size="${t.size}" class="ls-mono ls-code">${code}</text>`,
    `<text x="${num(t.x + w + 2)}" y="${num(t.y)}" font-size="${t.size}" class="ls-t-error">${escapeXml(t.text.slice(6))}</text>`,
  ].join('');
}

function boxSvg(box: PlacedBox, p: string, step: number): string {
  const cls = ['ls-box', box.mark ? `ls-mark-${box.mark}` : '', box.emphasis ? `ls-emphasis-${box.emphasis}` : ''].filter(Boolean).join(' ');
  return [
    `<g class="ls-statement" id="${p}${box.id}" data-step="${step}"><title>${escapeXml(box.title)}</title>`,
    box.tag ? svgText(box.tag) : '',
    `<rect x="${num(box.x)}" y="${num(box.y)}" width="${num(box.w)}" height="${num(box.h)}" rx="6" class="${cls}"/>`,
    ...box.lines.map((l) => (l.tone === 'error' && codeAt.test(l.text) ? errorLine(l) : svgText(l))),
    box.mark ? markIcon(box, box.mark) : '',
    '</g>',
  ].join('');
}

function connectorSvg(c: PlacedConnector, p: string): string {
  const { x, y, w, text } = c.label;
  return [
    `<g class="ls-connector ls-connector-${c.kind}"><title>${escapeXml(c.title)}</title>`,
    `<path d="${c.d}" class="ls-c ls-c-${c.kind}" marker-end="url(#${p}head-${c.kind})"/>`,
    `<rect x="${num(x - w / 2)}" y="${num(y - 8)}" width="${num(w)}" height="16" rx="8" class="ls-pill ls-pill-${c.kind}"/>`,
    `<text x="${num(x)}" y="${num(y + 3.6)}" text-anchor="middle" class="ls-pill-text ls-pt-${c.kind}">${escapeXml(text)}</text>`,
    '</g>',
  ].join('');
}

/**
 * The swimlane drawing as SVG elements (no `<svg>` around them), placed at
 * the origin: lanes, the highlighted steps' bands, a focusable strip per
 * step (`class="ls-step" data-step="n"`, which an HTML report makes
 * hoverable), lock waits, the statements' boxes (also `data-step`), then
 * the arrows on top.
 */
export function lanesSvgBody(layout: LaneLayout): string {
  const p = layout.idPrefix;
  const parts: string[] = [drawingDefs(p)];
  layout.lanes.forEach((lane, i) => {
    parts.push(`<rect x="${num(lane.x)}" y="${num(lane.y)}" width="${num(lane.w)}" height="${num(lane.h)}" rx="8" class="ls-lane"/>`);
    parts.push(`<line x1="${num(lane.x + 10)}" y1="${num(lane.y + 1)}" x2="${num(lane.x + lane.w - 10)}" y2="${num(lane.y + 1)}" class="ls-lane-top ${txClass(i + 1)}"/>`);
    parts.push(svgText(lane.label), svgText(lane.caption));
  });
  const left = 12;
  const right = layout.width - 12;
  for (const row of layout.rows) {
    if (row.band) parts.push(`<rect x="${left}" y="${num(row.y - 5)}" width="${num(right - left)}" height="${num(row.h + 10)}" rx="4" class="ls-band-${row.band}"/>`);
  }
  for (const row of layout.rows) {
    parts.push(`<g class="ls-step" data-step="${row.step}" tabindex="0"><title>Step ${row.step}</title>`);
    parts.push(`<rect x="${left}" y="${num(row.y - 5)}" width="${num(right - left)}" height="${num(row.h + 10)}" rx="4" class="ls-hit"/>`);
    parts.push(svgText(row.label));
    if (row.note) parts.push(svgText(row.note));
    parts.push('</g>');
  }
  for (const w of layout.waits) {
    if (w.h <= 0) continue;
    parts.push(`<rect x="${num(w.x)}" y="${num(w.y)}" width="${num(w.w)}" height="${num(w.h)}" fill="url(#${p}hatch)" class="ls-wait"/>`);
    if (w.label) parts.push(svgText(w.label, 'ls-wait-label'));
  }
  for (const box of layout.boxes) parts.push(boxSvg(box, p, layout.rows[box.row].step));
  for (const c of layout.connectors) parts.push(connectorSvg(c, p));
  return parts.join('\n');
}
