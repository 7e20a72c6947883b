import { fontStacks } from './text-width.ts';

/**
 * The colours of every report, as CSS custom properties: the Okabe–Ito
 * palette (told apart with the common colour blindnesses), darkened for
 * text on white and lightened for a dark background, switched by
 * `prefers-color-scheme`; print always uses the light ones. Colour is never
 * the only signal: edge kinds also differ by dash pattern and label, marks
 * by shape, the damage step by an outline and a note.
 */
const light = `
  --ls-bg: #ffffff; --ls-fg: #1b1b1f; --ls-muted: #55565f;
  --ls-lane: #f3f4f6; --ls-lane-edge: #cfd3da; --ls-box: #ffffff; --ls-box-edge: #8c919b;
  --ls-commit: #00765a; --ls-error: #b83c00; --ls-rollback: #55565f;
  --ls-wait: #9a6200; --ls-hatch: #fbe8c4;
  --ls-ww: #005a9e; --ls-wr: #00765a; --ls-rw: #a8407f;
  --ls-damage: #7a6000; --ls-damage-bg: #fff3a8; --ls-divergence-bg: #ffdccd; --ls-hover: #e4ecf7;
  --ls-t1: #0072b2; --ls-t2: #e69f00; --ls-t3: #009e73; --ls-t4: #cc79a7; --ls-t5: #56b4e9; --ls-t6: #d55e00;`;

const dark = `
  --ls-bg: #17181c; --ls-fg: #ebebef; --ls-muted: #a9aab4;
  --ls-lane: #212329; --ls-lane-edge: #3b3e47; --ls-box: #2b2d34; --ls-box-edge: #7d828d;
  --ls-commit: #45d0a2; --ls-error: #ff8f57; --ls-rollback: #a9aab4;
  --ls-wait: #f2bb4e; --ls-hatch: #3d321c;
  --ls-ww: #6cb6ff; --ls-wr: #45d0a2; --ls-rw: #ee93cf;
  --ls-damage: #f0e442; --ls-damage-bg: #4a4212; --ls-divergence-bg: #52281a; --ls-hover: #2c3546;
  --ls-t1: #56b4e9; --ls-t2: #f0b13a; --ls-t3: #2fc595; --ls-t4: #e08fc0; --ls-t5: #8fd0f5; --ls-t6: #ff7a33;`;

/** The drawing's own rules: what a standalone SVG carries and an HTML report includes. */
export const drawingCss = `
.ls-drawing { ${light} }
@media (prefers-color-scheme: dark) { .ls-drawing { ${dark} } }
@media print { .ls-drawing { ${light} } }
.ls-drawing { font-family: ${fontStacks.sans}; }
.ls-surface { fill: var(--ls-bg); }
.ls-lane { fill: var(--ls-lane); stroke: var(--ls-lane-edge); }
.ls-lane-top { stroke-width: 4; stroke-linecap: round; }
.ls-mono { font-family: ${fontStacks.mono}; }
.ls-t-label { fill: var(--ls-fg); font-weight: 700; }
.ls-t-caption, .ls-t-muted, .ls-t-tag, .ls-t-note { fill: var(--ls-muted); }
.ls-t-muted { font-style: italic; }
.ls-t-statement, .ls-t-result, .ls-t-write, .ls-t-step { fill: var(--ls-fg); }
.ls-t-step { font-weight: 700; }
.ls-t-error, .ls-t-mismatch { fill: var(--ls-error); }
.ls-t-wait { fill: var(--ls-wait); }
.ls-t-match { fill: var(--ls-commit); }
.ls-code-badge { fill: var(--ls-error); }
.ls-code { fill: var(--ls-bg); font-weight: 700; }
.ls-t-note { font-weight: 700; }
.ls-band-damage { fill: var(--ls-damage-bg); }
.ls-band-divergence { fill: var(--ls-divergence-bg); }
.ls-hit { fill: transparent; }
.ls-step:hover .ls-hit, .ls-step:focus .ls-hit, .ls-step.ls-current .ls-hit { fill: var(--ls-hover); fill-opacity: 0.7; }
.ls-wait, .ls-wait-label, .ls-band-damage, .ls-band-divergence { pointer-events: none; }
.ls-step:focus { outline: none; }
.ls-box { fill: var(--ls-box); stroke: var(--ls-box-edge); stroke-width: 1; }
.ls-box.ls-mark-commit { stroke: var(--ls-commit); stroke-width: 1.5; }
.ls-box.ls-mark-error { stroke: var(--ls-error); stroke-width: 1.5; }
.ls-box.ls-mark-blocked, .ls-box.ls-mark-released { stroke: var(--ls-wait); stroke-width: 1.5; }
.ls-box.ls-emphasis-damage { stroke: var(--ls-damage); stroke-width: 3; }
.ls-box.ls-emphasis-divergence { stroke: var(--ls-error); stroke-width: 3; stroke-dasharray: 6 3; }
.ls-icon-commit { fill: var(--ls-commit); }
.ls-icon-error { fill: var(--ls-error); }
.ls-icon-rollback { fill: var(--ls-rollback); }
.ls-icon-wait { fill: var(--ls-wait); }
.ls-icon-glyph { fill: none; stroke: var(--ls-bg); stroke-width: 1.8; stroke-linecap: round; stroke-linejoin: round; }
.ls-hatch-bg { fill: var(--ls-hatch); }
.ls-hatch-line { stroke: var(--ls-wait); stroke-width: 2; opacity: 0.55; }
.ls-wait { stroke: var(--ls-wait); stroke-width: 1; }
.ls-c { fill: none; stroke-width: 1.7; }
.ls-c-ww { stroke: var(--ls-ww); }
.ls-c-wr { stroke: var(--ls-wr); stroke-dasharray: 2 3; }
.ls-c-rw { stroke: var(--ls-rw); stroke-dasharray: 8 4; }
.ls-c-wait { stroke: var(--ls-wait); stroke-dasharray: 4 3; }
.ls-c-release { stroke: var(--ls-muted); }
.ls-head-ww { fill: var(--ls-ww); } .ls-head-wr { fill: var(--ls-wr); } .ls-head-rw { fill: var(--ls-rw); }
.ls-head-wait { fill: var(--ls-wait); } .ls-head-release { fill: var(--ls-muted); }
.ls-pill { fill: var(--ls-bg); stroke-width: 1.2; }
.ls-grid { stroke: var(--ls-lane-edge); stroke-width: 1; }
.ls-pill-ww { stroke: var(--ls-ww); } .ls-pill-wr { stroke: var(--ls-wr); } .ls-pill-rw { stroke: var(--ls-rw); }
.ls-pill-wait { stroke: var(--ls-wait); } .ls-pill-release { stroke: var(--ls-muted); }
.ls-pill-text { font-size: 10.5px; }
.ls-pt-ww { fill: var(--ls-ww); } .ls-pt-wr { fill: var(--ls-wr); } .ls-pt-rw { fill: var(--ls-rw); }
.ls-pt-wait { fill: var(--ls-wait); } .ls-pt-release { fill: var(--ls-muted); }
.ls-node { fill: var(--ls-box); stroke-width: 2.5; }
.ls-node-text { fill: var(--ls-fg); font-weight: 700; }
.ls-heading { fill: var(--ls-fg); font-weight: 700; }
.ls-text { fill: var(--ls-fg); }
.ls-text-muted { fill: var(--ls-muted); }
${[1, 2, 3, 4, 5, 6].map((i) => `.ls-tx${i} { stroke: var(--ls-t${i}); }`).join('\n')}
`;

/** The colour class of transaction `tx`'s lane and node (six colours, then again). */
export function txClass(tx: number): string {
  return `ls-tx${((tx - 1) % 6) + 1}`;
}
