import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where the report tests leave their screenshots for a person to look at (git-ignored). */
export const screenshots = join(import.meta.dirname, 'screenshots');

/** Debian's Chromium, or another Chromium or Chrome named by LOCKSTEP_CHROMIUM. */
export const chromiumPath = process.env.LOCKSTEP_CHROMIUM || '/usr/bin/chromium';

const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A headless Chromium with a fresh profile; fails (never skips) when there is none. */
export async function launchChromium(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `The report tests open every report in headless Chromium, and there is none at ${chromiumPath}. Install it (Debian: apt-get install -y chromium) or set LOCKSTEP_CHROMIUM to a Chromium or Chrome binary.`,
    );
  }
  mkdirSync(screenshots, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), 'lockstep-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, headless: true, args, viewport: { width: 1280, height: 900 } });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A page that records what a person would call broken: console errors, uncaught exceptions, any request that leaves the disk, and an id defined twice (an arrowhead or a link that may point at the wrong drawing). */
export async function openReport(context: BrowserContext, file: string): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) problems.push(`network request: ${r.url()}`);
  });
  await page.goto(`file://${file}`);
  await page.waitForLoadState('load');
  const duplicates = await page.evaluate(() => {
    const seen = new Set<string>();
    const twice = new Set<string>();
    for (const e of Array.from(document.querySelectorAll('[id]'))) (seen.has(e.id) ? twice : seen).add(e.id);
    return [...twice];
  });
  if (duplicates.length) problems.push(`ids defined more than once: ${duplicates.slice(0, 5).join(', ')}`);
  return { page, problems };
}

/**
 * Text that does not fit its box, measured with the browser's own fonts:
 * the check that the estimated widths the layout used are wide enough.
 */
export async function overflowingText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const g of Array.from(document.querySelectorAll('g.ls-statement'))) {
      const rect = (g.querySelector('rect.ls-box') as SVGGraphicsElement).getBBox();
      for (const t of Array.from(g.querySelectorAll('text'))) {
        const b = (t as SVGGraphicsElement).getBBox();
        if (b.x + b.width > rect.x + rect.width + 0.5 || b.y + b.height > rect.y + rect.height + 2) out.push(`${g.id}: ${t.textContent}`);
      }
    }
    return out;
  });
}

/** Pairs of statement boxes that overlap on the page. */
export async function overlappingBoxes(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const boxes = Array.from(document.querySelectorAll('svg.ls-lanes g.ls-statement')).map((g) => ({ id: g.id, r: (g.querySelector('rect.ls-box') as Element).getBoundingClientRect() }));
    const out: string[] = [];
    for (let i = 0; i < boxes.length; i++) {
      for (let j = i + 1; j < boxes.length; j++) {
        const a = boxes[i].r;
        const b = boxes[j].r;
        if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) out.push(`${boxes[i].id} and ${boxes[j].id}`);
      }
    }
    return out;
  });
}
