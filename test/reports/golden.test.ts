import { describe, expect, it } from 'vitest';
import { renderCounterexampleHtml } from '../../src/reports/counterexample-html.ts';
import { renderCounterexampleSvg } from '../../src/reports/counterexample-svg.ts';
import { known } from './fixtures.ts';

// The bytes of each drawing are pinned: a change to the layout, the colours or the model shows up here as a diff
// of the SVG, to be looked at (test/reports/screenshots after the browser test) and updated with `npx vitest run -u`.
describe('golden SVG files', () => {
  for (const [name, make] of Object.entries(known)) {
    it(`${name}.svg`, async () => {
      const { cx, scenario } = make();
      await expect(renderCounterexampleSvg(cx, scenario)).toMatchFileSnapshot(`golden/${name}.svg`);
    });
  }
});

describe('determinism', () => {
  it('the same counterexample gives the same SVG and HTML bytes, with nothing time-dependent in them', () => {
    const a = known['points-deduct-lost-update']();
    const b = known['points-deduct-lost-update']();
    expect(renderCounterexampleSvg(a.cx, a.scenario)).toBe(renderCounterexampleSvg(b.cx, b.scenario));
    const html = renderCounterexampleHtml(a.cx, a.scenario);
    expect(html).toBe(renderCounterexampleHtml(b.cx, b.scenario));
    expect(html).not.toMatch(/elapsed|runsPerSecond|Date|Math\.random|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
