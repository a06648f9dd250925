import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { decodePng } from '../../core/image/png.js';
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
  it('prints the result JSON and writes report.json, report.html, the winner, the contact sheet and the budget chart to --out', { timeout: 90_000 }, async () => {
    const out = join(dir, 'out');
    const { stdout } = await run(process.execPath, [CLI, 'search', PROMPT, '--candidates', '6', '--schedule', '2:0.5', '--seed', '3', '--guidance', '3', '--provider', 'cpu', '--json', '--out', out]);
    const doc = JSON.parse(stdout) as { prompts: { text: string; explored: number[]; winner: { candidate: number; rewards: Record<string, number> } }[] };
    expect(doc.prompts[0]?.text).toBe(PROMPT);
    expect(doc.prompts[0]?.explored).toEqual([0, 1, 2, 3, 4, 5]);
    expect(Object.keys(doc.prompts[0]?.winner.rewards ?? {})).toEqual(['align']);
    for (const f of ['report.json', 'report.html', 'winner.png', 'winner_large.png', 'contact_sheet.png', 'contact_sheet.svg', 'budget.png', 'budget.svg']) expect(existsSync(join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'))).toEqual(doc);
    // the prompt's own picture, written as it finished, beside its results.jsonl line
    expect(readFileSync(join(out, 'images', '0.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
    // contact sheets per prompt only on request
    expect(existsSync(join(out, 'images', '0-sheet.png'))).toBe(false);
  });

  it('--contact-sheets writes images/<prompt>-sheet.png as each prompt finishes; model workers take a JSONL prompt\'s guidance', { timeout: 90_000 }, async () => {
    const out = join(dir, 'sheets');
    const file = join(dir, 'prompts.jsonl');
    writeFileSync(file, `${JSON.stringify({ text: PROMPT })}\n${JSON.stringify({ text: PROMPT, guidance: 8 })}\n`);
    const { stdout } = await run(process.execPath, [CLI, 'search', '--prompts-file', file, '--candidates', '5', '--schedule', '2:0.6', '--seed', '3', '--provider', 'cpu', '--json', '--contact-sheets', '--out', out]);
    const doc = JSON.parse(stdout) as { prompts: { settings?: unknown }[] };
    for (const p of [0, 1]) {
      const sheet = decodePng(readFileSync(join(out, 'images', `${p}-sheet.png`)));
      // 5 candidate columns and 2 rows (steps 2 and 19) of 96 px thumbnails, plus labels
      expect(sheet.width).toBeGreaterThan(5 * 96);
      expect(sheet.height).toBeGreaterThan(2 * 96);
    }
    expect(readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
    // taken and recorded (that it changes the image as --guidance 8 would: models/sampling.test.ts)
    expect(doc.prompts[1]?.settings).toMatchObject({ guidance: 8 });
    const err = await run(process.execPath, [CLI, 'search', '--prompts', '0:2', '--base', file, '--candidates', '4', '--contact-sheets', '--out', join(dir, 'trace')]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr.trim().split('\n').pop()).toBe("ttsnap: --contact-sheets: given for the trace backend; allowed: the embedded onnx backend, or --coordinator with model (onnx) workers");
  });

  it('prints stage-level progress on stderr, a line as each stage is passed; --quiet prints none', { timeout: 90_000 }, async () => {
    const args = [CLI, 'search', PROMPT, '--candidates', '16', '--seed', '3', '--provider', 'cpu', '--out', join(dir, 'progress')];
    const { stderr } = await run(process.execPath, args);
    const lines = stderr.split('\n').filter((l) => l.startsWith('search '));
    const stages = [2, 6, 11];
    // for each prune point a line where it has been passed and the next has not
    stages.forEach((step, k) => {
      const next = stages[k + 1];
      const passed = lines.filter((l) => l.includes(`| step ${step}: 1/1 prompts`) && (next === undefined ? l.includes('final step 19: 0/1') : l.includes(`| step ${next}: 0/1`)));
      expect(passed.length, `a progress line after step ${step}`).toBeGreaterThanOrEqual(1);
    });
    expect(lines.at(-1)).toMatch(/^search [\d.]+ s: 1\/1 prompts done \| step 2: 1\/1 prompts, 16 scored, 6 kept \| .* \| final step 19: 1\/1 prompts, 1 finalist \| cost 0\.006875 of 0\.006875 planned \(100%\)/);
    const quiet = await run(process.execPath, [...args, '--quiet']);
    expect(quiet.stderr.split('\n').filter((l) => l.startsWith('search ') || l.startsWith('wrote '))).toEqual([]);
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
