import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../worker/onnx/tokenizer.js';
import { clipTokenizerJson } from '../../worker/onnx/tokenizer-convert.js';
import { PROMPT, TINY } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'ttsnap-tok-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function bundleWith(name: string, tokenizer: unknown, config?: unknown): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'tokenizer'), { recursive: true });
  writeFileSync(join(dir, 'tokenizer', 'tokenizer.json'), JSON.stringify(tokenizer));
  if (config) writeFileSync(join(dir, 'tokenizer', 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

// A CLIP tokenizer.json (the structure transformers' CLIPConverter writes, as converted from Optimum's vocab.json +
// merges.txt) with a toy vocabulary.
const CLIP_LIKE = clipTokenizerJson(
  { 'a</w>': 0, r: 1, e: 2, 'd</w>': 3, re: 4, 'red</w>': 5, c: 6, i: 7, l: 8, 'e</w>': 9, '<|startoftext|>': 10, '<|endoftext|>': 11, '!</w>': 12, 'Ã': 13, '©</w>': 14 },
  '#version: 0.2\nr e\nre d</w>\n',
);

describe('tokenizers', () => {
  it('the tiny bundle: WordLevel, [BOS] words [EOS], padded with [PAD] = 0', () => {
    const t = loadTokenizer(join(TINY, 'tokenizer'), 16);
    const vocab = (JSON.parse(readFileSync(join(TINY, 'tokenizer', 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    const ids = Array.from(t.encode(PROMPT));
    // [BOS] + 7 words + [EOS] + 7 x [PAD]
    expect(ids).toEqual([2, ...PROMPT.split(' ').map((w) => vocab[w]), 3, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(t.encode(PROMPT.toUpperCase()))).toEqual(ids);
    expect(Array.from(t.encode('zebra')).slice(0, 3)).toEqual([2, 1, 3]); // unknown word -> [UNK]
  });

  it('CLIP-style BPE: normalise, split, merge by rank with </w>, <|startoftext|> ... <|endoftext|>, pad token from tokenizer_config', () => {
    const dir = bundleWith('clip', CLIP_LIKE, { pad_token: '<|endoftext|>' });
    const t = loadTokenizer(join(dir, 'tokenizer'), 12);
    // a | r e d</w> -> re d</w> -> red</w> | c i r c l e</w> (no merges apply) | !</w>
    expect(Array.from(t.encode('A  Red circle!'))).toEqual([10, 0, 5, 6, 7, 1, 6, 8, 9, 12, 11, 11]);
    // truncation keeps the end token
    expect(Array.from(loadTokenizer(join(dir, 'tokenizer'), 6).encode('A  Red circle!'))).toEqual([10, 0, 5, 6, 7, 11]);
    // byte-level: é is UTF-8 C3 A9 -> 'Ã' '©', the last symbol with </w>
    expect(Array.from(t.encode('é')).slice(0, 4)).toEqual([10, 13, 14, 11]);
  });

  it('refuses tokenizer models it cannot run and folders without a tokenizer, naming the file', () => {
    const dir = bundleWith('odd', { ...CLIP_LIKE, model: { type: 'Mystery' } });
    expect(() => loadTokenizer(join(dir, 'tokenizer'), 8)).toThrow(`${join(dir, 'tokenizer', 'tokenizer.json')}: cannot build a tokenizer from it (Unknown TokenizerModel type: Mystery); expected BPE, Unigram, WordPiece or WordLevel as Hugging Face tokenizers writes them`);
    const spm = join(root, 'spm');
    mkdirSync(spm);
    writeFileSync(join(spm, 'spiece.model'), '');
    expect(() => loadTokenizer(spm, 8)).toThrow(`${join(spm, 'spiece.model')}: a SentencePiece model alone is not read; expected tokenizer.json beside it (T5TokenizerFast.save_pretrained writes one)`);
    expect(() => loadTokenizer(root, 8)).toThrow(`${root}: has no tokenizer; expected tokenizer.json, vocab.json + merges.txt (CLIP) or vocab.txt (BERT)`);
  });
});
