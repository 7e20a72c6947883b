import type { LaneLayout } from './lane-layout.ts';
import { lanesSvgBody } from './lanes-svg.ts';
import { legendSvgBody } from './legend-svg.ts';
import { escapeXml } from './markup.ts';

/** The lanes as an inline `<svg>`, and their legend below. */
export function lanesSvgElement(layout: LaneLayout, label: string): string {
  const legend = legendSvgBody(layout, layout.width);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="ls-lanes" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" role="img" aria-label="${escapeXml(label)}">\n${lanesSvgBody(layout)}\n</svg>`,
    legend.height ? `<svg xmlns="http://www.w3.org/2000/svg" class="ls-legend-svg" width="${layout.width}" height="${legend.height}" viewBox="0 0 ${layout.width} ${legend.height}" aria-label="legend">${legend.body}</svg>` : '',
  ].join('\n');
}
