import type { Counterexample } from '../explorer/counterexample.ts';
import type { ReplayReport } from '../explorer/replay.ts';
import { layoutLanes } from './lane-layout.ts';
import { lanesSvgBody } from './lanes-svg.ts';
import { legendSvgBody } from './legend-svg.ts';
import { escapeXml, num, svgDocument } from './markup.ts';
import { replayVerdict } from './replay-html.ts';
import { replayLanes } from './replay-lanes.ts';
import { drawingCss } from './report-style.ts';
import { wrapText } from './text-width.ts';

/**
 * A replay as one standalone SVG: the verdict and the swimlanes with the
 * model's and PostgreSQL's outcome in every box. Colours follow the
 * viewer's light or dark scheme; the same replay gives the same bytes.
 *
 * ```ts
 * writeFileSync('replay.svg', renderReplaySvg(await replay(cx), cx));
 * ```
 */
export function renderReplaySvg(report: ReplayReport, cx: Counterexample): string {
  const lanes = layoutLanes(replayLanes(report, cx, 'ls-'));
  const width = Math.max(lanes.width, 640);
  const status = report.status === 'confirmed' ? 'CONFIRMED' : 'DIVERGED';
  const parts = [`<text x="12" y="26" font-size="16" class="ls-heading">${escapeXml(`Replay on ${report.database.version} · ${cx.scenario} · ${cx.strategy} · ${cx.isolation}: ${status}`)}</text>`];
  let y = 48;
  for (const line of wrapText(replayVerdict(report), 'sans', 12.5, width - 24, 4)) {
    parts.push(`<text x="12" y="${y}" font-size="12.5" class="ls-text">${escapeXml(line)}</text>`);
    y += 17;
  }
  parts.push(`<g transform="translate(0 ${num(y - 4)})">${lanesSvgBody(lanes)}</g>`);
  const legend = legendSvgBody(lanes, width);
  parts.push(`<g transform="translate(0 ${num(y - 4 + lanes.height)})">${legend.body}</g>`);
  const height = Math.ceil(y - 4 + lanes.height + legend.height + 8);
  return svgDocument(width, height, `replay of ${cx.scenario} ${cx.strategy} ${cx.isolation}: ${status}`, drawingCss, parts);
}
