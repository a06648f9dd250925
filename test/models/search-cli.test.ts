import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROMPT } from './helpers.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'ttsnap-search-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ttsnap search "<text>" (embedded default: onnx backend, tiny bundle)', () => {
  it('prints the result JSON and writes report.json, winner.png and contact_sheet.png to --out', { timeout: 90_000 }, async () => {
    const out = join(dir, 'out');
    const { stdout } = await run(process.execPath, [CLI, 'search', PROMPT, '--candidates', '6', '--schedule', '2:0.5', '--seed', '3', '--guidance', '3', '--provider', 'cpu', '--json', '--out', out]);
    const doc = JSON.parse(stdout) as { prompts: { text: string; explored: number[]; winner: { candidate: number; rewards: Record<string, number> } }[] };
    expect(doc.prompts[0]?.text).toBe(PROMPT);
    expect(doc.prompts[0]?.explored).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.keys(doc.prompts[0]?.winner.rewards ?? {})).toEqual(['align']);
    for (const f of ['report.json', 'winner.png', 'contact_sheet.png']) expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))).toEqual(doc);
  });

  it('a bad --guidance is one line naming the flag, exit code 2', async () => {
    const err = await run(process.execPath, [CLI, 'search', PROMPT, '--guidance', 'lots', '--out', join(dir, 'bad')]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr.trim().split('\n').pop()).toBe("ttsnap: --guidance: got 'lots'; allowed: a number in [0, 100]");
  });
});
