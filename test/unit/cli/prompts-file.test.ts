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

  it('names the line and field of bad input', () => {
    const f = file('e.jsonl', '{"text": "a cat"}\n{"seed": 3}\n');
    expect(() => readPromptsFile(f)).toThrow(`${f}:2.seed: got 3; allowed: "text": a non-empty string, or "prompt": a trace row index >= 0 (per-prompt overrides are not supported)`);
    const g = file('f.txt', 'a cat\n4\n');
    expect(() => readPromptsFile(g)).toThrow(`${g}:2: mixes trace indices and texts`);
    const h = file('g.txt', '4\n4\n');
    expect(() => readPromptsFile(h)).toThrow('repeats a trace row');
    expect(() => readPromptsFile(file('h.txt', '\n\n'))).toThrow('no prompts');
  });
});
