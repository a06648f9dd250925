import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPromptsFile } from '../../../cli/prompts-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-pf-'));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('readPromptsFile', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads plain lines as texts and skips blank lines', () => {
    expect(readPromptsFile(file('a.txt', 'a red fox\n\n  a blue house \n'))).toEqual({ kind: 'text', texts: ['a red fox', 'a blue house'] });
  });

  it('reads integer lines as trace rows, in file order', () => {
    expect(readPromptsFile(file('b.txt', '12\n3\n7\n'))).toEqual({ kind: 'trace', indices: [12, 3, 7] });
  });

  it('reads JSONL objects with text or prompt', () => {
    expect(readPromptsFile(file('c.jsonl', '{"text": "a cat"}\n{"text": "a dog"}\n'))).toEqual({ kind: 'text', texts: ['a cat', 'a dog'] });
    expect(readPromptsFile(file('d.jsonl', '{"prompt": 4}\n{"prompt": 0}\n'))).toEqual({ kind: 'trace', indices: [4, 0] });
  });

  it('reads per-prompt overrides, aligned with the prompts (null where a line has none)', () => {
    const f = file('o.jsonl', '{"prompt": 4, "seed": 0, "candidates": 8}\n{"prompt": 9}\n{"prompt": 1, "budget": 120.5, "negative_prompt": "blurry", "guidance": 5}\n');
    expect(readPromptsFile(f)).toEqual({
      kind: 'trace',
      indices: [4, 9, 1],
      settings: [
        { seed: 0, has_seed: true, candidates: 8, budget: 0 },
        null,
        { sampling: { guidance: 5, steps: 0, negative_prompt: 'blurry', width: 0, height: 0 }, seed: 0, has_seed: false, candidates: 0, budget: 120.5 },
      ],
    });
  });

  it('names the line and field of bad input', () => {
    const f = file('e.jsonl', '{"text": "a cat"}\n{"seed": 3}\n');
    expect(() => readPromptsFile(f)).toThrow(`${f}:2: neither "text" nor "prompt"; allowed: exactly one of "text" or "prompt"`);
    const u = file('u.jsonl', '{"text": "a cat", "sede": 3}\n');
    expect(() => readPromptsFile(u)).toThrow(`${u}:1.sede: got 3; allowed: an object with "text" (a non-empty string) or "prompt" (a trace row index >= 0), and optionally: text, prompt, negative_prompt, seed, candidates, budget, guidance, steps, width, height`);
    const s = file('s.jsonl', '{"text": "a cat", "seed": -1}\n');
    expect(() => readPromptsFile(s)).toThrow(`${s}:1.seed: got -1`);
    const b = file('b2.jsonl', '{"text": "a cat", "candidates": 4, "budget": 9}\n');
    expect(() => readPromptsFile(b)).toThrow(`${b}:1.budget: given with candidates; allowed: either candidates or budget`);
    const g = file('f.txt', 'a cat\n4\n');
    expect(() => readPromptsFile(g)).toThrow(`${g}:2: mixes trace indices and texts`);
    const h = file('g.txt', '4\n4\n');
    expect(() => readPromptsFile(h)).toThrow('repeats a trace row');
    expect(() => readPromptsFile(file('h.txt', '\n\n'))).toThrow('no prompts');
  });
});
