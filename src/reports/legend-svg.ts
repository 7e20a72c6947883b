import type { LaneLayout } from './lane-layout.ts';
import { escapeXml, num } from './markup.ts';
import { textWidth } from './text-width.ts';

type Entry = { readonly key: string; readonly text: string; readonly swatch: (x: number, y: number, p: string) => string };

const icon = (cls: string, glyph: string) => (x: number, y: number) => `<g transform="translate(${num(x + 9)} ${num(y)})"><circle r="7" class="${cls}"/><path d="${glyph}" class="ls-icon-glyph"/></g>`;
const line = (kind: string) => (x: number, y: number, p: string) => `<path d="M${num(x)} ${num(y)} L${num(x + 26)} ${num(y)}" class="ls-c ls-c-${kind}" marker-end="url(#${p}head-${kind})"/>`;

const entries: readonly Entry[] = [
  { key: 'commit', text: 'committed', swatch: icon('ls-icon-commit', 'M-3.5 0.5 L-1 3 L3.5 -2.5') },
  { key: 'rollback', text: 'rolled back', swatch: icon('ls-icon-rollback', 'M3 1 A3.3 3.3 0 1 1 1.4 -3 M1 -4.9 L1.6 -2.9 L-0.5 -2.3') },
  { key: 'error', text: 'error (its SQLSTATE)', swatch: icon('ls-icon-error', 'M-2.8 -2.8 L2.8 2.8 M2.8 -2.8 L-2.8 2.8') },
  { key: 'blocked', text: 'waits for a lock', swatch: (x, y, p) => `<rect x="${num(x)}" y="${num(y - 7)}" width="22" height="14" fill="url(#${p}hatch)" class="ls-wait"/>` },
  { key: 'release', text: 'releases the waiter', swatch: line('release') },
  { key: 'ww', text: 'ww: overwrote', swatch: line('ww') },
  { key: 'wr', text: 'wr: read what it wrote', swatch: line('wr') },
  { key: 'rw', text: 'rw: read what it then replaced', swatch: line('rw') },
  { key: 'damage', text: 'where the damage happens', swatch: (x, y) => `<rect x="${num(x)}" y="${num(y - 7)}" width="22" height="14" rx="3" class="ls-band-damage"/><rect x="${num(x + 3)}" y="${num(y - 4)}" width="16" height="8" rx="2" class="ls-box ls-emphasis-damage"/>` },
  { key: 'divergence', text: 'first divergence', swatch: (x, y) => `<rect x="${num(x)}" y="${num(y - 7)}" width="22" height="14" rx="3" class="ls-band-divergence"/>` },
];

/** What a layout shows, as legend keys: only the marks and arrows present. */
function present(layout: LaneLayout): Set<string> {
  const keys = new Set<string>();
  for (const b of layout.boxes) {
    if (b.mark === 'released') keys.add('blocked');
    else if (b.mark) keys.add(b.mark);
    if (b.emphasis) keys.add(b.emphasis);
  }
  for (const c of layout.connectors) keys.add(c.kind === 'wait' ? 'blocked' : c.kind);
  return keys;
}

/**
 * A legend of the marks and arrows a swimlane drawing uses, as SVG
 * elements at the origin, wrapped to `width`; its height is returned.
 */
export function legendSvgBody(layout: LaneLayout, width: number): { body: string; height: number } {
  const keys = present(layout);
  const shown = entries.filter((e) => keys.has(e.key));
  const parts: string[] = [];
  let x = 12;
  let y = 12;
  for (const e of shown) {
    const w = 34 + textWidth(e.text, 'sans', 11.5) + 18;
    if (x + w > width && x > 12) {
      x = 12;
      y += 22;
    }
    parts.push(e.swatch(x, y, layout.idPrefix), `<text x="${num(x + 32)}" y="${num(y + 4)}" font-size="11.5" class="ls-text-muted">${escapeXml(e.text)}</text>`);
    x += w;
  }
  return { body: `<g class="ls-legend">${parts.join('')}</g>`, height: shown.length ? y + 12 : 0 };
}
