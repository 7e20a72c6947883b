import { describe, expect, it } from 'vitest';
import { viewCounterexample } from '../../src/reports/counterexample-view.ts';
import { exploreMarkdown } from '../../src/reports/markdown.ts';
import { runHistory } from '../../src/reports/step-history.ts';
import { ellipsize, textWidth, wrapText } from '../../src/reports/text-width.ts';
import { explore } from '../../src/explorer/explore.ts';
import { pointsDeduct } from '../../src/model/scenarios/index.ts';
import { known } from './fixtures.ts';

describe('the lost update of points-deduct naive', () => {
  const { cx, scenario } = known['points-deduct-lost-update']();
  const view = viewCounterexample(cx, scenario);

  it('explains each edge of the cycle with its rows and steps', () => {
    expect(cx.anomaly).toEqual({ class: 'lost update', cycle: 'T1 -rw-> T2 -ww-> T1' });
    expect(view.cycle.map((e) => e.sentence)).toEqual([
      'T1 read accounts(1) at step 1; T2 replaced that version at step 3, so T1 -rw-> T2.',
      'T2 wrote accounts(1) at step 3; T1 overwrote it at step 6, so T2 -ww-> T1.',
    ]);
    expect(view.cycle.map((e) => [e.fromStep, e.toStep])).toEqual([
      [0, 2],
      [2, 5],
    ]);
  });

  it('puts the damage at the write that closes the cycle', () => {
    expect(view.damage).toEqual({ step: 5, tx: 1, reason: "T1 overwrote accounts(1) from what it read at step 1, so T2's write at step 3 is lost." });
  });

  it('keeps the committed tables after every step, and the writes not committed yet', () => {
    const history = runHistory(cx, scenario);
    expect(history.steps[2].tables.accounts).toEqual([{ id: 1, balance: 3000 }]);
    expect(history.steps[2].uncommitted).toEqual([{ tx: 2, table: 'accounts', kind: 'update', row: { id: 1, balance: 2700 } }]);
    expect(history.steps[4].tables.accounts).toEqual([{ id: 1, balance: 2700 }]);
    expect(history.steps[4].uncommitted).toEqual([]);
    expect(history.steps[7].tables).toEqual(cx.final);
  });

  it('lays out 2 lanes, 8 steps, a box per statement and the two edges of the cycle', () => {
    expect(view.lanes.lanes).toHaveLength(2);
    expect(view.lanes.rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(view.lanes.boxes.map((b) => `${b.row + 1}:T${b.lane + 1}`)).toEqual(['1:T1', '2:T2', '3:T2', '4:T2', '5:T2', '6:T1', '7:T1', '8:T1']);
    expect(view.lanes.connectors.map((c) => c.kind)).toEqual(['rw', 'ww']);
    expect(view.lanes.rows.find((r) => r.band)).toMatchObject({ step: 6, band: 'damage' });
  });
});

describe('damage steps without a cycle', () => {
  it('is the error a program did not handle: a 40001 released by a commit, a deadlock, a unique violation', () => {
    const damage = (name: keyof typeof known) => {
      const { cx, scenario } = known[name]();
      const { step, tx, reason } = viewCounterexample(cx, scenario).damage;
      return { step: step + 1, tx, reason };
    };
    expect(damage('points-add-wait-40001')).toEqual({
      step: 5,
      tx: 2,
      reason: 'T2\'s "select accounts where id=1 for update" failed with 40001 (could not serialize access due to concurrent update), which its program did not handle.',
    });
    expect(damage('deadlock-40P01')).toMatchObject({ step: 4, tx: 1 });
    expect(damage('welcome-gift-23505')).toMatchObject({ step: 9, tx: 1 });
  });

  it('a lock wait runs from the step that submitted the statement to the step that released it', () => {
    const { cx, scenario } = known['points-add-wait-40001']();
    const { lanes } = viewCounterexample(cx, scenario);
    expect(lanes.connectors.map((c) => c.kind)).toEqual(['wait', 'release']);
    expect(lanes.boxes.filter((b) => b.lane === 1).map((b) => [b.row + 1, b.mark])).toEqual([
      [2, 'blocked'],
      [5, 'error'],
    ]);
  });
});

describe('text widths', () => {
  it('are estimated from a table of advances, the same every time', () => {
    expect(textWidth('T1', 'sans', 10)).toBeCloseTo(11.67, 2);
    expect(textWidth('select', 'mono', 10)).toBe(36);
  });

  it('wrap at spaces, break a long word, and end a cut text with an ellipsis', () => {
    expect(wrapText('update accounts set balance=2700 where id=1', 'mono', 12, 200)).toEqual(['update accounts set', 'balance=2700 where id=1']);
    expect(wrapText('x'.repeat(50), 'mono', 10, 60)).toEqual(['xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxxxxxxx', 'xxxxxxxxxx']);
    expect(wrapText('one two three four five six', 'mono', 10, 60, 2)).toEqual(['one two', 'three fou…']);
    expect(ellipsize('abcdefghij', 'mono', 10, 40)).toBe('abcde…');
  });
});

describe('Markdown summary', () => {
  it('is the text a CI job summary shows', async () => {
    const report = explore({ scenario: pointsDeduct, strategy: 'naive', isolation: 'read-committed', runs: 10000, seed: 1 });
    await expect(exploreMarkdown(report, pointsDeduct)).toMatchFileSnapshot('golden/points-deduct-naive.md');
  });
});

describe('the public API', () => {
  it('exports the renderers from lockstep', async () => {
    const api = await import('../../src/index.ts');
    const { cx, scenario } = known['points-deduct-lost-update']();
    expect(api.renderCounterexampleSvg(cx, scenario)).toMatch(/^<svg /);
    expect(api.renderCounterexampleHtml(cx, scenario)).toMatch(/^<!DOCTYPE html>/);
    expect(api.counterexampleMarkdown(cx, scenario)).toContain('**Violated balance-matches-successes**');
    expect([api.renderExploreHtml, api.renderReplayHtml, api.renderReplaySvg, api.exploreMarkdown, api.replayMarkdown, api.renderStressHtml].every((f) => typeof f === 'function')).toBe(true);
  });
});
