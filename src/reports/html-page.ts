import { escapeXml, scriptJson } from './markup.ts';
import { drawingCss } from './report-style.ts';
import { fontStacks } from './text-width.ts';

/** The page around a report: typography, tables, the state panel, the verdict colours; light, dark and print. */
const pageCss = `
:root { color-scheme: light dark; }
body.ls-drawing { margin: 0; background: var(--ls-bg); color: var(--ls-fg); font: 15px/1.45 ${fontStacks.sans}; }
main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
code, pre, .ls-mono-text { font-family: ${fontStacks.mono}; font-size: 13px; }
pre { background: var(--ls-lane); border: 1px solid var(--ls-lane-edge); border-radius: 6px; padding: 8px 12px; overflow-x: auto; white-space: pre-wrap; }
a { color: var(--ls-ww); }
.ls-sub { color: var(--ls-muted); margin: 0 0 12px; }
.ls-verdict { display: inline-block; font-weight: 700; padding: 1px 8px; border-radius: 4px; border: 2px solid; }
.ls-verdict-failed, .ls-verdict-diverged { color: var(--ls-error); }
.ls-verdict-passed, .ls-verdict-confirmed { color: var(--ls-commit); }
.ls-rule { border-left: 5px solid var(--ls-error); padding: 6px 12px; margin: 8px 0; background: var(--ls-lane); }
.ls-rule strong { display: block; }
.ls-damage-text { border-left: 5px solid var(--ls-damage); padding: 6px 12px; margin: 8px 0; background: var(--ls-damage-bg); }
.ls-cycle-box { display: flex; gap: 20px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
.ls-cycle-box ol { margin: 0; padding-left: 20px; max-width: 70ch; }
.ls-note { color: var(--ls-muted); font-size: 13px; max-width: 90ch; }
.ls-figure { display: flex; flex-wrap: wrap; gap: 20px; align-items: flex-start; }
.ls-lanes-scroll { overflow-x: auto; flex: 0 0 auto; max-width: 100%; }
.ls-lanes-scroll svg { display: block; }
.ls-state-panel { box-sizing: border-box; position: sticky; top: 12px; flex: 1 1 250px; min-width: 250px; max-width: 420px; border: 1px solid var(--ls-lane-edge); border-radius: 8px; padding: 10px 12px; background: var(--ls-lane); }
.ls-state-panel h3 { margin-top: 0; }
.ls-table { border-collapse: collapse; margin: 4px 0 12px; font-size: 13px; }
.ls-table caption { text-align: left; font-weight: 700; padding-bottom: 2px; }
.ls-table th, .ls-table td { border: 1px solid var(--ls-lane-edge); padding: 2px 8px; text-align: left; font-family: ${fontStacks.mono}; }
.ls-table th { background: var(--ls-box); font-family: ${fontStacks.sans}; }
.ls-table td.ls-changed { background: var(--ls-damage-bg); font-weight: 700; text-decoration: underline; }
.ls-table tr.ls-new td { background: var(--ls-damage-bg); font-weight: 700; }
.ls-table tr.ls-gone td { text-decoration: line-through; color: var(--ls-muted); }
.ls-table td.ls-empty { color: var(--ls-muted); font-style: italic; font-family: ${fontStacks.sans}; }
.ls-pending-title { margin: 4px 0 2px; font-size: 13px; }
.ls-pending { margin: 0 0 8px; padding-left: 18px; font-size: 13px; }
.ls-matrix td, .ls-matrix th { font-family: ${fontStacks.sans}; vertical-align: top; }
.ls-cell { min-width: 150px; }
.ls-cell-passed { background: color-mix(in srgb, var(--ls-commit) 14%, transparent); }
.ls-cell-failed { background: color-mix(in srgb, var(--ls-error) 14%, transparent); }
.ls-cell-unexpected { outline: 3px double var(--ls-error); outline-offset: -4px; }
.ls-cell small { display: block; color: var(--ls-muted); }
.ls-matrix th small { display: block; font-weight: normal; color: var(--ls-muted); max-width: 28ch; }
.ls-cx { border-top: 1px solid var(--ls-lane-edge); margin-top: 24px; }
.ls-ok { color: var(--ls-commit); font-weight: 700; }
.ls-bad { color: var(--ls-error); font-weight: 700; }
@media print { .ls-state-panel { display: none; } .ls-figure { display: block; } main { max-width: none; } }
`;

/** Hovering (or focusing) a step shows the tables as they stood after it, in the panel beside its lanes. */
const script = `
document.querySelectorAll('.ls-cx').forEach(function (section) {
  var panels = section.querySelectorAll('[data-state-for]');
  var strips = section.querySelectorAll('.ls-step');
  if (panels.length === 0) return;
  function show(step) {
    panels.forEach(function (p) { p.hidden = p.getAttribute('data-state-for') !== step; });
    strips.forEach(function (s) { s.classList.toggle('ls-current', s.getAttribute('data-step') === step); });
  }
  function follow(event) {
    var target = event.target.closest ? event.target.closest('[data-step]') : null;
    if (target && section.contains(target)) show(target.getAttribute('data-step'));
  }
  section.addEventListener('pointerover', follow);
  section.addEventListener('focusin', follow);
});
`;

/**
 * A whole report page: its CSS, script and data inline, so it opens from
 * disk with no network, and nothing in it depends on when it was made.
 * `data` is embedded as JSON (`<script type="application/json" id="lockstep-data">`).
 */
export function htmlPage(page: { title: string; body: string; data?: unknown }): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="lockstep">`,
    `<title>${escapeXml(page.title)}</title>`,
    `<style>${drawingCss}${pageCss}</style>`,
    '</head>',
    '<body class="ls-drawing">',
    '<main>',
    page.body,
    '</main>',
    page.data !== undefined ? `<script type="application/json" id="lockstep-data">${scriptJson(page.data)}</script>` : '',
    `<script>${script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
