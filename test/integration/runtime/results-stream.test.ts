// search --out streams results.jsonl (one line per prompt, fsynced as it finishes); a client killed with -9
// mid-job and rerun with the same --out finishes the rest without writing any prompt twice.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../../support/procs.js';
import { BASE, NARF } from './engine-alone.js';

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-stream-'));
const PROMPTS = [7, 3, 11, 0, 5, 9, 2, 14];
const args = (out: string, stepMs: number) => ['search', '--prompts-file', join(dir, 'prompts.txt'), '--candidates', '24', '--seed', '5', '--base', BASE, '--narf', NARF, '--step-ms', String(stepMs), '--max-batch', '4', '--out', out, '--json'];
const lines = (out: string) => readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { prompt: number; winner: { candidate: number } });

describe.skipIf(!existsSync(BASE))('search --out results.jsonl (needs ../shared/traces)', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'prompts.txt'), `${PROMPTS.join('\n')}\n`);

  it('writes one line per prompt and --json lists them in input order', async () => {
    const r = await runCli(args(join(dir, 'straight'), 0));
    expect(r.code).toBe(0);
    expect(lines(join(dir, 'straight')).map((l) => l.prompt).sort((a, b) => a - b)).toEqual([...PROMPTS].sort((a, b) => a - b));
    expect((JSON.parse(r.stdout) as { prompts: { prompt: number }[] }).prompts.map((p) => p.prompt)).toEqual(PROMPTS);
  });

  it('resumes after kill -9 without duplicates and with the same winners', async () => {
    const out = join(dir, 'killed');
    const first = startCli('search', args(out, 40));
    const until = Date.now() + 60_000;
    while ((!existsSync(join(out, 'results.jsonl')) || lines(out).length < 2) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const before = lines(out).length;
    expect(before).toBeGreaterThanOrEqual(2);
    expect(before).toBeLessThan(PROMPTS.length);
    const again = await runCli(args(out, 0));
    expect(again.code).toBe(0);
    const after = lines(out);
    expect(after).toHaveLength(PROMPTS.length);
    expect(new Set(after.map((l) => l.prompt)).size).toBe(PROMPTS.length);
    const winners = (ls: ReturnType<typeof lines>) => Object.fromEntries(ls.map((l) => [l.prompt, l.winner.candidate]));
    expect(winners(after)).toEqual(winners(lines(join(dir, 'straight'))));
  });
});
