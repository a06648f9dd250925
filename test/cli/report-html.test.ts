import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, launchChromium, visitFile } from '../../bench/chromium.js';
import { writeSyntheticPair } from '../../bench/trace-pair.js';
import { runCli } from '../support/procs.js';

// Needs Debian's chromium (.ci/run installs it); without it this file is skipped: apt-get install chromium.
const browserFound = chromiumPath() !== null;
if (!browserFound) console.warn('report-html tests skipped: no Chromium (apt-get install chromium, or set CHROMIUM)');

describe.skipIf(!browserFound)('report.html in headless Chromium', () => {
  let dir = '';
  let browser: Browser;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ttsnap-report-'));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a 45-prompt trace job: renders with no console error and no request, 20 prompts a page, filter and paging work', { timeout: 60_000 }, async () => {
    const { base, narf } = writeSyntheticPair(dir, 45, 40);
    const out = join(dir, 'trace-out');
    const r = await runCli(['search', '--prompts', '0:45', '--base', base, '--narf', narf, '--candidates', '20', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const { page, errors, requests } = await visitFile(browser, join(out, 'report.html'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.locator('article.prompt').count()).toBe(20);
    expect(await page.textContent('#page-info')).toBe('45 of 45 prompts; page 1 of 3');
    // the first card is open: its lineage has a row per stage (steps 2, 6, 11 and the final step)
    expect(await page.locator('article.prompt').first().locator('table.lineage tr').count()).toBe(4);
    expect(await page.locator('article.prompt').first().locator('td.pruned').count()).toBe(20 - 8 + 8 - 3 + 3 - 2);
    expect(await page.locator('article.prompt').first().locator('td.winner').count()).toBe(1);
    await page.click('#next');
    await page.click('#next');
    expect(await page.textContent('#page-info')).toBe('45 of 45 prompts; page 3 of 3');
    expect(await page.locator('article.prompt').count()).toBe(5);
    await page.fill('#filter', '17');
    expect(await page.locator('article.prompt h3').allTextContents()).toEqual(['prompt 17']);
    // a closed card draws its lineage when opened
    await page.click('article.prompt summary');
    expect(await page.locator('article.prompt table.lineage tr').count()).toBe(4);
    // the budget chart is an SVG image that decoded
    expect(await page.locator('.charts img').evaluate((img: { naturalWidth: number }) => img.naturalWidth)).toBeGreaterThan(200);
    expect(errors).toEqual([]);
  });

  it('a tiny-bundle search: the winner and every stage picture decode, scores shown, no console error', { timeout: 90_000 }, async () => {
    const out = join(dir, 'tiny-out');
    const r = await runCli(['search', 'a red circle above a blue square', '--candidates', '8', '--schedule', '2:0.5', '--provider', 'cpu', '--out', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const { page, errors, requests } = await visitFile(browser, join(out, 'report.html'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.textContent('article.prompt h3')).toBe('prompt 0: “a red circle above a blue square”');
    // 8 pictures at step 2, 4 finalists
    const widths = await page.locator('article.prompt img').evaluateAll((imgs: { naturalWidth: number }[]) => imgs.map((i) => i.naturalWidth));
    expect(widths).toEqual(Array.from({ length: 1 + 8 + 4 }, () => 32));
    expect(await page.locator('td.kept .id').allTextContents()).toHaveLength(4);
    for (const t of await page.locator('td .id').allTextContents()) expect(t).toMatch(/^#\d+ -?\d+(\.\d+)?$/);
  });
});
