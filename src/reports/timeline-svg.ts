import { escapeXml, num } from './markup.ts';

/** One second of a run: transactions completed and their p95 latency. */
export interface TimelinePoint {
  readonly second: number;
  readonly completed: number;
  readonly p95Ms: number;
}

/** A round axis maximum at or above `n`: 1, 2, 5 times a power of ten. */
function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/**
 * A run over time as an SVG chart drawn by lockstep: a bar per second for
 * the transactions completed (left axis) and a dashed line with square
 * marks for their p95 latency (right axis), so it reads without colour.
 */
export function timelineSvg(points: readonly TimelinePoint[], width = 720): string {
  const height = 220;
  const left = 52;
  const right = 58;
  const top = 16;
  const bottom = 34;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const maxTx = niceMax(Math.max(0, ...points.map((p) => p.completed)));
  const maxMs = niceMax(Math.max(0, ...points.map((p) => p.p95Ms)));
  const n = Math.max(1, points.length);
  const slot = plotW / n;
  const x = (i: number) => left + i * slot;
  const yTx = (v: number) => top + plotH - (v / maxTx) * plotH;
  const yMs = (v: number) => top + plotH - (v / maxMs) * plotH;
  const parts: string[] = [`<rect x="${left}" y="${top}" width="${num(plotW)}" height="${num(plotH)}" class="ls-lane"/>`];
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH - f * plotH;
    parts.push(
      `<line x1="${left}" y1="${num(y)}" x2="${num(left + plotW)}" y2="${num(y)}" class="ls-grid"/>`,
      `<text x="${left - 6}" y="${num(y + 4)}" font-size="11" text-anchor="end" class="ls-text-muted">${num(maxTx * f)}</text>`,
      `<text x="${num(left + plotW + 6)}" y="${num(y + 4)}" font-size="11" class="ls-text-muted">${num(maxMs * f)} ms</text>`,
    );
  }
  points.forEach((p, i) => {
    const y = yTx(p.completed);
    parts.push(`<rect x="${num(x(i) + slot * 0.15)}" y="${num(y)}" width="${num(slot * 0.7)}" height="${num(top + plotH - y)}" class="ls-icon-commit" opacity="0.55"><title>second ${p.second + 1}: ${p.completed} completed, p95 ${num(p.p95Ms)} ms</title></rect>`);
  });
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${num(x(i) + slot / 2)} ${num(yMs(p.p95Ms))}`).join(' ');
  if (points.length) parts.push(`<path d="${line}" class="ls-c ls-c-rw"/>`);
  points.forEach((p, i) => parts.push(`<rect x="${num(x(i) + slot / 2 - 3)}" y="${num(yMs(p.p95Ms) - 3)}" width="6" height="6" class="ls-icon-error"/>`));
  const every = Math.max(1, Math.ceil(n / 12));
  points.forEach((p, i) => {
    if (i % every === 0) parts.push(`<text x="${num(x(i) + slot / 2)}" y="${height - bottom + 16}" font-size="11" text-anchor="middle" class="ls-text-muted">${p.second + 1}</text>`);
  });
  parts.push(
    `<text x="${num(left + plotW / 2)}" y="${height - 4}" font-size="11" text-anchor="middle" class="ls-text-muted">second of the run · bars: transactions completed (left) · squares: p95 latency (right)</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" class="ls-timeline" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml('transactions completed and p95 latency per second')}">${parts.join('')}</svg>`;
}
