import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, visitFile } from './chromium.js';

/**
 * `npm run docs:pictures`: remakes the README's pictures under docs/ with the project's own commands: the
 * contact sheet and report.html of `search "a red circle above a blue square"` on the tiny bundle (the report
 * screenshotted by headless Chromium), simulate's reward-budget chart on the synthetic trace, and
 * the tiny bundle's sample grid.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'dist', 'cli', 'main.js');
const docs = join(root, 'docs');

function ttsnap(...args: string[]): void {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`ttsnap ${args.join(' ')} exited ${r.status}`);
}

/** The README's sample grid: the four single shapes, then three two-shape captions. */
const SAMPLE_CAPTIONS = ['a red circle', 'a blue square', 'a green triangle', 'a yellow circle', 'a red circle above a blue square', 'a green triangle left of a yellow circle', 'a yellow circle below a blue square'];

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-docs-'));
try {
  ttsnap('search', 'a red circle above a blue square', '--provider', 'cpu', '--out', dir, '--quiet');
  copyFileSync(join(dir, 'contact_sheet.png'), join(docs, 'contact-sheet.png'));
  ttsnap('simulate', '--synthetic', '--plot', join(docs, 'simulate-synthetic'));
  ttsnap('models', 'sample', join(root, 'models', 'tiny'), ...SAMPLE_CAPTIONS, '--seeds', '6', '--out', join(docs, 'sample-grid.png'));
  const browser = await launchChromium();
  try {
    const { page, errors } = await visitFile(browser, join(dir, 'report.html'), { width: 1280, height: 1180 });
    if (errors.length) throw new Error(`report.html logged errors: ${errors.join('; ')}`);
    await page.screenshot({ path: join(docs, 'report.png'), fullPage: false });
  } finally {
    await browser.close();
  }
  process.stdout.write(`wrote ${['contact-sheet.png', 'simulate-synthetic.png', 'simulate-synthetic.svg', 'sample-grid.png', 'report.png'].map((f) => join('docs', f)).join(', ')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
