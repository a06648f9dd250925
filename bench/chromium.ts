import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where a headless Chromium is: $CHROMIUM, else Debian's `chromium` package (apt-get install chromium). */
export function chromiumPath(): string | null {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
  return candidates.find((p) => existsSync(p)) ?? null;
}

/** Starts the system's headless Chromium through playwright-core (which never downloads a browser of its own). */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error('no Chromium found: install Debian\'s chromium package or set CHROMIUM to its path');
  return chromium.launch({ executablePath, headless: true });
}

/** What opening a page showed: console errors and uncaught exceptions, and the time from navigation to the load event. */
export interface PageVisit {
  readonly page: Page;
  readonly errors: readonly string[];
  /** ms from navigation start to the end of the load event (the browser's own Navigation Timing) */
  readonly loadMs: number;
  /** requests the page made beyond its own file */
  readonly requests: readonly string[];
}

/** Opens a local file in a fresh browser context (no cache) and waits for its load event. */
export async function visitFile(browser: Browser, file: string, viewport = { width: 1280, height: 900 }): Promise<PageVisit> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => {
    if (r.url() !== url && !r.url().startsWith('data:')) requests.push(r.url());
  });
  await page.goto(url, { waitUntil: 'load' });
  // a string: this project compiles without the DOM's types, and the expression runs in the page
  const loadMs = Number(await page.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0]; return n ? n.loadEventEnd - n.startTime : NaN; })()"));
  return { page, errors, loadMs, requests };
}
