import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLockstep } from '../lockstep-cli.ts';
import { launchChromium, openReport, overflowingText, overlappingBoxes, screenshots } from './browser.ts';

// Each kind of report, written by the CLI as a user would, opened in headless Chromium: it must render without a
// console error or a network request, show what it should, and leave a screenshot in test/reports/screenshots/.
const dir = mkdtempSync(join(tmpdir(), 'lockstep-reports-'));
let browser: { context: BrowserContext; close: () => Promise<void> };

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string) => join(dir, name);

describe('explore --report: the points-deduct naive lost update', () => {
  it('draws 2 lanes, 8 steps, a box per statement, the rw and ww arrows and the cycle T1 -rw-> T2 -ww-> T1', async () => {
    const { code } = await runLockstep(['explore', 'points-deduct', '--strategy', 'naive', '--report', file('explore.html'), '--svg', file('explore.svg')]);
    expect(code).toBe(1);
    const { page, problems } = await openReport(browser.context, file('explore.html'));
    const lanes = page.locator('svg.ls-lanes');
    expect(await lanes.locator('.ls-lane').count()).toBe(2);
    expect(await lanes.locator('.ls-t-label').allTextContents()).toEqual(['T1', 'T2']);
    expect(await lanes.locator('g.ls-step').count()).toBe(8);
    expect(await lanes.locator('g.ls-statement').count()).toBe(8);
    expect(await lanes.locator('g.ls-statement .ls-t-statement').first().textContent()).toBe('select accounts where id=1');
    expect(await lanes.locator('.ls-connector-rw').count()).toBe(1);
    expect(await lanes.locator('.ls-connector-ww').count()).toBe(1);
    expect(await lanes.locator('.ls-box.ls-mark-commit').count()).toBe(2);
    expect(await lanes.locator('.ls-band-damage').count()).toBe(1);
    expect(await lanes.locator('.ls-emphasis-damage').count()).toBe(1);
    const cycle = page.locator('svg.ls-cycle-graph');
    expect(await cycle.locator('.ls-node-text').allTextContents()).toEqual(['T1', 'T2']);
    expect(await cycle.locator('.ls-connector').evaluateAll((gs) => gs.map((g) => g.querySelector('text')!.textContent))).toEqual(['rw accounts(1)', 'ww accounts(1)']);
    expect(await page.locator('.ls-cycle-box li').allTextContents()).toEqual([
      'T1 read accounts(1) at step 1; T2 replaced that version at step 3, so T1 -rw-> T2.',
      'T2 wrote accounts(1) at step 3; T1 overwrote it at step 6, so T2 -ww-> T1.',
    ]);
    expect(await page.locator('.ls-rule').textContent()).toContain('The balance ended at 2700, but 2 successful operations from 3000 should leave 2400: an update was lost.');
    expect(await page.locator('pre').last().textContent()).toBe('npx lockstep explore points-deduct --strategy naive --isolation read-committed --runs 10000 --seed 1');
    expect(await overflowingText(page)).toEqual([]);
    expect(await overlappingBoxes(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'explore-points-deduct.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: join(screenshots, 'explore-points-deduct-dark.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('hovering a step shows the tables as they stood after it, with the writes not committed yet', async () => {
    const { page, problems } = await openReport(browser.context, file('explore.html'));
    expect(await page.locator('[data-state-for="8"]').isVisible()).toBe(true);
    await page.locator('svg.ls-lanes g.ls-statement[data-step="3"]').hover();
    const panel = page.locator('[data-state-for="3"]');
    expect(await panel.isVisible()).toBe(true);
    expect(await page.locator('[data-state-for="8"]').isVisible()).toBe(false);
    expect(await panel.locator('table').first().textContent()).toBe('accountsidbalance13000');
    expect(await panel.locator('.ls-pending li').allTextContents()).toEqual(['T2 updated accounts: id=1 balance=2700']);
    await page.locator('svg.ls-lanes g.ls-statement[data-step="5"]').hover();
    expect(await page.locator('[data-state-for="5"] td.ls-changed').allTextContents()).toEqual(['2700']);
    await page.screenshot({ path: join(screenshots, 'explore-points-deduct-hover.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('--svg is a standalone drawing of the lanes and the cycle', async () => {
    const svg = readFileSync(file('explore.svg'), 'utf8');
    const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!;
    const { page, problems } = await openReport(browser.context, file('explore.svg'));
    await page.setViewportSize({ width: Number(width), height: Number(height) });
    expect(await page.locator('g.ls-statement').count()).toBe(8);
    expect(await page.locator('.ls-cycle .ls-connector').count()).toBe(2);
    expect(await page.locator('.ls-lane').count()).toBe(2);
    expect(await overflowingText(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'explore-points-deduct-svg.png') });
    expect(problems).toEqual([]);
  });
});

describe('the other reports', () => {
  it('replay --report (and explore --replay --report): the lanes with the model and PostgreSQL per step, each ✓', async () => {
    expect((await runLockstep(['explore', 'points-deduct', '--strategy', 'naive', '--out', file('cx.json'), '--replay', '--report', file('explore-replay.html')])).code).toBe(1);
    const both = await openReport(browser.context, file('explore-replay.html'));
    expect(await both.page.locator('svg.ls-lanes').count()).toBe(2);
    expect(await both.page.locator('h2 .ls-verdict').textContent()).toBe('CONFIRMED');
    expect(both.problems).toEqual([]);
    const { code } = await runLockstep(['replay', file('cx.json'), '--report', file('replay.html'), '--svg', file('replay.svg')]);
    expect(code).toBe(0);
    const { page, problems } = await openReport(browser.context, file('replay.html'));
    expect(await page.locator('h1 .ls-verdict').textContent()).toBe('CONFIRMED');
    const lanes = page.locator('svg.ls-lanes');
    expect(await lanes.locator('.ls-lane').count()).toBe(2);
    expect(await lanes.locator('g.ls-statement').count()).toBe(8);
    const postgres = await lanes.locator('.ls-t-match').allTextContents();
    expect(postgres).toHaveLength(8);
    expect(postgres.every((t) => t.startsWith('PostgreSQL: ') && t.endsWith(' ✓'))).toBe(true);
    expect(await lanes.locator('.ls-t-mismatch').count()).toBe(0);
    expect(await page.getByText('Which races PostgreSQL took').count()).toBe(1);
    expect(await overflowingText(page)).toEqual([]);
    expect(await overlappingBoxes(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'replay-points-deduct.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('a lock wait: a hatched span, an arrow to the blocking transaction and one from the step that released it', async () => {
    const { code } = await runLockstep(['explore', 'points-add', '--strategy', 'for-update', '--isolation', 'repeatable-read', '--runs', '500', '--report', file('wait.html')]);
    expect(code).toBe(1);
    const { page, problems } = await openReport(browser.context, file('wait.html'));
    const lanes = page.locator('svg.ls-lanes');
    expect(await lanes.locator('rect.ls-wait').count()).toBe(1);
    expect(await lanes.locator('.ls-connector-wait').count()).toBe(1);
    expect(await lanes.locator('.ls-connector-release').count()).toBe(1);
    expect(await lanes.locator('.ls-box.ls-mark-error').count()).toBe(1);
    expect(await lanes.locator('.ls-code').allTextContents()).toEqual(['40001']);
    expect(await overflowingText(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'explore-points-add-lock-wait.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('audit --report: the matrix coloured by verdict, a failing cell linking to its lanes in the same file', async () => {
    const { code } = await runLockstep(['audit', '--scenario', 'points-deduct', '--runs', '300', '--report', file('audit.html')]);
    expect(code).toBe(0);
    const { page, problems } = await openReport(browser.context, file('audit.html'));
    const cells = page.locator('table.ls-matrix td.ls-cell');
    expect(await cells.count()).toBeGreaterThanOrEqual(6);
    expect(await page.locator('td.ls-cell-failed').count()).toBeGreaterThan(0);
    expect(await page.locator('td.ls-cell-passed').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshots, 'audit-points-deduct.png') });
    const link = page.locator('td.ls-cell-failed a').first();
    const target = (await link.getAttribute('href'))!;
    await link.click();
    expect(await page.evaluate(() => location.hash)).toBe(target);
    const section = page.locator(target);
    expect(await section.isVisible()).toBe(true);
    expect(await section.locator('svg.ls-lanes g.ls-statement').count()).toBeGreaterThan(0);
    expect(await overflowingText(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('stress --report: thresholds, rules, latency by operation, the run over time', async () => {
    const { code } = await runLockstep(['stress', 'points-deduct', '--strategy', 'atomic-update', '--transactions', '200', '--threshold', 'p95<5000ms', '--report', file('stress.html')]);
    expect(code).toBe(0);
    const { page, problems } = await openReport(browser.context, file('stress.html'));
    expect(await page.locator('h1 .ls-verdict').textContent()).toBe('PASSED');
    expect(await page.locator('svg.ls-timeline rect.ls-icon-commit').count()).toBeGreaterThan(0);
    expect(await page.getByText('balance-matches-successes').count()).toBe(1);
    await page.screenshot({ path: join(screenshots, 'stress-points-deduct.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('audit --catalogue --report: the anomalies by isolation level, a possible one linking to its witness', async () => {
    const { code } = await runLockstep(['audit', '--catalogue', '--anomaly', 'G2', '--report', file('catalogue.html')]);
    expect(code).toBe(0);
    const { page, problems } = await openReport(browser.context, file('catalogue.html'));
    expect(await page.locator('table.ls-matrix td.ls-cell').count()).toBe(3);
    expect(await page.locator('td.ls-cell a').count()).toBe(2);
    const witness = page.locator('#witness-g2-read-committed');
    expect(await witness.locator('.ls-cycle-box li').allTextContents()).toEqual([
      'T1\'s "select items where value=30" at step 1 did not see items(4), which T2 inserted at step 3, so T1 -rw-> T2.',
      'T2\'s "select items where value=30" at step 2 did not see items(3), which T1 inserted at step 5, so T2 -rw-> T1.',
    ]);
    expect(await overflowingText(page)).toEqual([]);
    await page.screenshot({ path: join(screenshots, 'catalogue-g2.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
