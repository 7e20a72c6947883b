import { ruleName } from '../explorer/violation.ts';
import type { Counterexample } from '../explorer/counterexample.ts';
import type { Scenario } from '../model/scenario.ts';
import { cycleEdges, viewCounterexample, type CounterexampleView } from './counterexample-view.ts';
import { cycleSvgBody } from './cycle-svg.ts';
import { lanesSvgBody } from './lanes-svg.ts';
import { legendSvgBody } from './legend-svg.ts';
import { escapeXml, num, svgDocument } from './markup.ts';
import { drawingCss } from './report-style.ts';
import { wrapText } from './text-width.ts';

const left = 12;

/** Lines of wrapped text from `y` down: the SVG and where the next line would go. */
function paragraph(text: string, y: number, width: number, options: { size?: number; cls?: string; x?: number; maxLines?: number } = {}): { svg: string; y: number } {
  const size = options.size ?? 12.5;
  const lead = Math.round(size * 1.35);
  const lines = wrapText(text, 'sans', size, width, options.maxLines ?? 6);
  const svg = lines.map((line, i) => `<text x="${num(options.x ?? left)}" y="${num(y + i * lead)}" font-size="${size}" class="${options.cls ?? 'ls-text'}">${escapeXml(line)}</text>`).join('\n');
  return { svg, y: y + lines.length * lead };
}

/**
 * A counterexample as one standalone SVG for a pull request or an issue:
 * the scenario, the violated rule, the anomaly, the swimlanes, and the
 * dependency cycle with one sentence per edge. Its colours follow the
 * viewer's light or dark scheme. The same counterexample always gives the
 * same bytes.
 *
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { explore, renderCounterexampleSvg } from 'lockstep';
 * import { pointsDeduct } from 'lockstep/scenarios';
 * const { counterexample } = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 1000, seed: 1 });
 * writeFileSync('lost-update.svg', renderCounterexampleSvg(counterexample!, pointsDeduct));
 * ```
 */
export function renderCounterexampleSvg(cx: Counterexample, scenario: Scenario): string {
  return counterexampleSvg(viewCounterexample(cx, scenario));
}

/** The standalone SVG of a counterexample already viewed. */
export function counterexampleSvg(view: CounterexampleView): string {
  const { cx, lanes } = view;
  const cycle = cycleEdges(view);
  const graph = cycle.length ? cycleSvgBody(cycle, view.idPrefix) : null;
  const width = Math.max(lanes.width, 640);
  const textW = width - 2 * left;
  const parts: string[] = [];
  parts.push(`<text x="${left}" y="26" font-size="16" class="ls-heading">${escapeXml(`${cx.scenario} · ${cx.strategy} · ${cx.isolation}`)}</text>`);
  let y = 48;
  const rule = paragraph(`Violated ${ruleName(cx.violation)}: ${cx.violation.message}`, y, textW);
  parts.push(rule.svg);
  y = rule.y;
  const anomaly = paragraph(cx.anomaly ? `Anomaly: ${cx.anomaly.class}   ${cx.anomaly.cycle}` : 'Anomaly: none (no dependency cycle among the committed transactions)', y, textW, { cls: 'ls-text-muted' });
  parts.push(anomaly.svg);
  y = anomaly.y - 4;
  parts.push(`<g transform="translate(0 ${num(y)})">${lanesSvgBody(lanes)}</g>`);
  y += lanes.height;
  const legend = legendSvgBody(lanes, width);
  parts.push(`<g transform="translate(0 ${num(y)})">${legend.body}</g>`);
  y += legend.height + 16;
  const footerTop = y;
  const sentenceX = graph ? left + graph.width + 20 : left;
  const sentenceW = width - sentenceX - left;
  if (graph) parts.push(`<g transform="translate(${left} ${num(y)})">${graph.body}</g>`);
  y += 14;
  for (const e of view.cycle) {
    const p = paragraph(e.sentence, y, sentenceW, { x: sentenceX, size: 12 });
    parts.push(p.svg);
    y = p.y + 4;
  }
  const damage = paragraph(`Damage at step ${view.damage.step + 1}: ${view.damage.reason}`, y, sentenceW, { x: sentenceX, size: 12, cls: 'ls-text' });
  parts.push(damage.svg);
  y = Math.max(damage.y, footerTop + (graph?.height ?? 0)) + 10;
  const height = Math.ceil(y);
  return svgDocument(width, height, `${cx.scenario} ${cx.strategy} ${cx.isolation}: ${ruleName(cx.violation)}`, drawingCss, parts);
}
