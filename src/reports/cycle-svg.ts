import type { TxId } from '../adapters/backend.ts';
import type { Dependency } from '../adapters/memory/dependency-graph.ts';
import { escapeXml, num } from './markup.ts';
import { txClass } from './report-style.ts';
import { textWidth } from './text-width.ts';

/** An edge of the cycle to draw: who must come before whom, and why. */
export interface CycleEdge {
  readonly from: TxId;
  readonly to: TxId;
  readonly kind: Dependency['kind'];
  readonly item: string;
  /** The sentence explaining it, shown as its tooltip. */
  readonly sentence: string;
}

const nodeR = 19;
const pad = 10;

/**
 * A dependency cycle as a small graph: the transactions on a circle in the
 * cycle's order, each edge a curved arrow labelled with its kind and row
 * (ww solid, wr dotted, rw dashed, as on the lanes). Returns SVG elements
 * placed at the origin and their size.
 *
 * ```ts
 * cycleSvgBody([{ from: 1, to: 2, kind: 'rw', item: 'accounts(1)', sentence: '...' }, { from: 2, to: 1, kind: 'ww', item: 'accounts(1)', sentence: '...' }], 'cx-');
 * ```
 */
export function cycleSvgBody(edges: readonly CycleEdge[], idPrefix: string): { body: string; width: number; height: number } {
  const nodes: TxId[] = [];
  for (const e of edges) for (const t of [e.from, e.to]) if (!nodes.includes(t)) nodes.push(t);
  const n = nodes.length;
  const radius = n <= 2 ? 95 : 60 + 18 * n;
  const pos = new Map(nodes.map((t, i) => [t, { x: -radius * Math.cos((2 * Math.PI * i) / n), y: n <= 2 ? 0 : -radius * Math.sin((2 * Math.PI * i) / n) }]));
  const placed = edges.map((e) => {
    const p = pos.get(e.from)!;
    const q = pos.get(e.to)!;
    const mx = (p.x + q.x) / 2;
    const my = (p.y + q.y) / 2;
    let nx: number;
    let ny: number;
    if (n <= 2) {
      const len = Math.hypot(q.x - p.x, q.y - p.y) || 1;
      nx = (q.y - p.y) / len;
      ny = -(q.x - p.x) / len;
    } else {
      const len = Math.hypot(mx, my) || 1;
      nx = mx / len;
      ny = my / len;
    }
    const bend = n <= 2 ? 62 : 34;
    const c = { x: mx + nx * bend, y: my + ny * bend };
    const start = towards(p, c, nodeR + 2);
    const end = towards(q, c, nodeR + 4);
    const label = { x: (p.x + 2 * c.x + q.x) / 4, y: (p.y + 2 * c.y + q.y) / 4 };
    const text = `${e.kind} ${e.item}`;
    const w = textWidth(text, 'sans', 11) + 12;
    return { e, d: `M${num(start.x)} ${num(start.y)} Q${num(c.x)} ${num(c.y)} ${num(end.x)} ${num(end.y)}`, label, text, w };
  });
  const xs = [...[...pos.values()].flatMap((p) => [p.x - nodeR, p.x + nodeR]), ...placed.flatMap((e) => [e.label.x - e.w / 2, e.label.x + e.w / 2])];
  const ys = [...[...pos.values()].flatMap((p) => [p.y - nodeR, p.y + nodeR]), ...placed.flatMap((e) => [e.label.y - 10, e.label.y + 10])];
  const minX = Math.min(...xs) - pad;
  const minY = Math.min(...ys) - pad;
  const width = Math.ceil(Math.max(...xs) + pad - minX);
  const height = Math.ceil(Math.max(...ys) + pad - minY);
  const parts = [`<g class="ls-cycle" transform="translate(${num(-minX)} ${num(-minY)})">`];
  for (const p of placed) {
    parts.push(
      `<g class="ls-connector ls-connector-${p.e.kind}"><title>${escapeXml(p.e.sentence)}</title>`,
      `<path d="${p.d}" class="ls-c ls-c-${p.e.kind}" marker-end="url(#${idPrefix}head-${p.e.kind})"/>`,
      `<rect x="${num(p.label.x - p.w / 2)}" y="${num(p.label.y - 9)}" width="${num(p.w)}" height="18" rx="9" class="ls-pill ls-pill-${p.e.kind}"/>`,
      `<text x="${num(p.label.x)}" y="${num(p.label.y + 4)}" font-size="11" text-anchor="middle" class="ls-pt-${p.e.kind}">${escapeXml(p.text)}</text></g>`,
    );
  }
  for (const t of nodes) {
    const p = pos.get(t)!;
    parts.push(
      `<g class="ls-node-group"><circle cx="${num(p.x)}" cy="${num(p.y)}" r="${nodeR}" class="ls-node ${txClass(t)}"/>`,
      `<text x="${num(p.x)}" y="${num(p.y + 5)}" font-size="14" text-anchor="middle" class="ls-node-text">T${t}</text></g>`,
    );
  }
  parts.push('</g>');
  return { body: parts.join('\n'), width, height };
}

function towards(from: { x: number; y: number }, to: { x: number; y: number }, distance: number): { x: number; y: number } {
  const len = Math.hypot(to.x - from.x, to.y - from.y) || 1;
  return { x: from.x + ((to.x - from.x) / len) * distance, y: from.y + ((to.y - from.y) / len) * distance };
}
