import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BadFileError } from '../../core/errors.js';
import { readJson } from './manifest.js';
import { byteLevel, bpeModel, normalizer, preTokenizer } from './tokenizer-parts.js';

/** Turns a prompt into exactly maxLength token ids (truncated, then padded), as the text encoder expects. */
export interface Tokenizer {
  readonly maxLength: number;
  encode(text: string): Int32Array;
}

const Special = z.looseObject({ SpecialToken: z.looseObject({ id: z.string() }) });
const Seq = z.looseObject({ Sequence: z.looseObject({ id: z.string() }) });
const Part = z.looseObject({ type: z.string() });
const TokenizerJson = z.looseObject({
  normalizer: Part.nullable().optional(),
  pre_tokenizer: Part.nullable().optional(),
  post_processor: z
    .looseObject({ type: z.string(), single: z.array(z.union([Special, Seq])).optional(), cls: z.tuple([z.string(), z.number()]).optional(), sep: z.tuple([z.string(), z.number()]).optional() })
    .nullable()
    .optional(),
  padding: z.looseObject({ pad_id: z.number().int() }).nullable().optional(),
  model: z.looseObject({
    type: z.string(),
    vocab: z.record(z.string(), z.number().int()),
    unk_token: z.string().nullable().optional(),
    merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])).optional(),
    end_of_word_suffix: z.string().nullable().optional(),
  }),
});
type Json = z.infer<typeof TokenizerJson>;

/**
 * A Hugging Face tokenizers JSON: WordLevel (the tiny bundle) or BPE (CLIP, as in SD 1.5/2/XL exports), with
 * the normalisers (NFC/NFKC, Lowercase, Replace, Strip, Sequence), pre-tokenisers (Whitespace, WhitespaceSplit,
 * Split, ByteLevel, Sequence) and post-processors (TemplateProcessing, RobertaProcessing, BertProcessing)
 * those use. Truncates the sequence to fit, then pads with the pad token (tokenizer_config.json pad_token,
 * else padding.pad_id, else the end token). Anything else is refused naming the file.
 */
export function loadTokenizer(bundleDir: string, maxLength: number): Tokenizer {
  const file = join(bundleDir, 'tokenizer', 'tokenizer.json');
  const parsed = TokenizerJson.safeParse(readJson(file, 'a Hugging Face tokenizers JSON'));
  if (!parsed.success) throw new BadFileError(file, `field ${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}; expected a Hugging Face tokenizers JSON`);
  const t = parsed.data;
  const vocab = new Map(Object.entries(t.model.vocab));
  const id = (tok: string, what: string): number => {
    const v = vocab.get(tok);
    if (v === undefined) throw new BadFileError(file, `${what} '${tok}' is not in the vocabulary`);
    return v;
  };
  const unsupported = (what: string): BadFileError => new BadFileError(file, `${what} is not supported; expected WordLevel or BPE tokenizers as Hugging Face tokenizers writes them`);
  const norm = normalizer(t.normalizer ?? null, unsupported);
  const pre = preTokenizer(t.pre_tokenizer ?? null, unsupported);
  const usesBytes = JSON.stringify(t.pre_tokenizer ?? null).includes('"ByteLevel"');
  const unk = t.model.unk_token ? id(t.model.unk_token, 'unk_token') : -1;
  let model: (word: string) => number[];
  if (t.model.type === 'WordLevel') model = (w) => [vocab.get(w) ?? unk];
  else if (t.model.type === 'BPE') model = bpeModel(vocab, t.model.merges ?? [], t.model.end_of_word_suffix ?? '', unk, usesBytes ? byteLevel : (w) => w);
  else throw unsupported(`model.type '${t.model.type}'`);
  const [before, after] = specials(t, id, unsupported);
  const pad = padId(bundleDir, t, vocab, after);
  return {
    maxLength,
    encode(text: string): Int32Array {
      const words = pre(norm(text));
      const room = Math.max(0, maxLength - before.length - after.length);
      const body = words.flatMap(model).filter((x) => x >= 0).slice(0, room);
      const out = new Int32Array(maxLength).fill(pad);
      out.set([...before, ...body, ...after].slice(0, maxLength));
      return out;
    },
  };
}

function specials(t: Json, id: (tok: string, what: string) => number, unsupported: (w: string) => BadFileError): [number[], number[]] {
  const p = t.post_processor;
  if (!p) return [[], []];
  if (p.type === 'TemplateProcessing') {
    const before: number[] = [];
    const after: number[] = [];
    let seen = false;
    for (const piece of p.single ?? []) {
      if ('Sequence' in piece) seen = true;
      else (seen ? after : before).push(id((piece as z.infer<typeof Special>).SpecialToken.id, 'special token'));
    }
    return [before, after];
  }
  if ((p.type === 'RobertaProcessing' || p.type === 'BertProcessing') && p.cls && p.sep) return [[p.cls[1]], [p.sep[1]]];
  throw unsupported(`post_processor.type '${p.type}'`);
}

function padId(dir: string, t: Json, vocab: ReadonlyMap<string, number>, after: number[]): number {
  const cfgFile = join(dir, 'tokenizer', 'tokenizer_config.json');
  if (existsSync(cfgFile)) {
    const cfg = readJson(cfgFile, 'a tokenizer config') as { pad_token?: unknown };
    const tok = typeof cfg.pad_token === 'string' ? cfg.pad_token : (cfg.pad_token as { content?: unknown } | undefined)?.content;
    if (typeof tok === 'string' && vocab.has(tok)) return vocab.get(tok) as number;
  }
  return t.padding?.pad_id ?? after[after.length - 1] ?? 0;
}
