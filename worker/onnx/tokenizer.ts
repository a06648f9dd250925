import { join } from 'node:path';
import { z } from 'zod';
import { BadFileError } from '../../core/errors.js';
import { readJson } from './manifest.js';

/** Turns a prompt into exactly maxLength token ids (truncated, then padded), as the text encoder expects. */
export interface Tokenizer {
  readonly maxLength: number;
  encode(text: string): Int32Array;
}

const Special = z.looseObject({ SpecialToken: z.looseObject({ id: z.string() }) });
const Seq = z.looseObject({ Sequence: z.looseObject({ id: z.string() }) });
const TokenizerJson = z.looseObject({
  normalizer: z.looseObject({ type: z.string(), normalizers: z.array(z.looseObject({ type: z.string() })).optional() }).nullable().optional(),
  pre_tokenizer: z.looseObject({ type: z.string() }).nullable().optional(),
  post_processor: z.looseObject({ type: z.string(), single: z.array(z.union([Special, Seq])).optional() }).nullable().optional(),
  padding: z.looseObject({ pad_id: z.number().int() }).nullable().optional(),
  model: z.looseObject({ type: z.string(), vocab: z.record(z.string(), z.number().int()).optional(), unk_token: z.string().optional() }),
});

/**
 * A Hugging Face tokenizers WordLevel tokenizer (the tiny bundle's): optional Lowercase normaliser, Whitespace
 * pre-tokeniser (\w+|[^\w\s]+), TemplateProcessing with special tokens around the sequence, right truncation
 * (keeping the template's trailing tokens), right padding with the pad id. Other models (BPE for CLIP) are
 * refused with an error naming the file, so a real bundle fails at load rather than drawing from wrong ids.
 */
export function loadTokenizer(bundleDir: string, maxLength: number): Tokenizer {
  const file = join(bundleDir, 'tokenizer', 'tokenizer.json');
  const parsed = TokenizerJson.safeParse(readJson(file, 'a Hugging Face tokenizers JSON'));
  if (!parsed.success) throw new BadFileError(file, `field ${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? 'invalid'}; expected a Hugging Face tokenizers JSON`);
  const t = parsed.data;
  if (t.model.type !== 'WordLevel' || !t.model.vocab) throw new BadFileError(file, `model.type is '${t.model.type}', expected WordLevel (the only tokenizer model supported)`);
  const vocab = new Map(Object.entries(t.model.vocab));
  const id = (tok: string, what: string): number => {
    const v = vocab.get(tok);
    if (v === undefined) throw new BadFileError(file, `${what} '${tok}' is not in the vocabulary`);
    return v;
  };
  const unk = id(t.model.unk_token ?? '[UNK]', 'unk_token');
  const pad = t.padding?.pad_id ?? id('[PAD]', 'pad token');
  const lower = t.normalizer ? t.normalizer.type === 'Lowercase' || (t.normalizer.normalizers ?? []).some((n) => n.type === 'Lowercase') : false;
  const template = t.post_processor?.type === 'TemplateProcessing' ? (t.post_processor.single ?? []) : [];
  const before: number[] = [];
  const after: number[] = [];
  let seen = false;
  for (const piece of template) {
    if ('Sequence' in piece) seen = true;
    else (seen ? after : before).push(id((piece as z.infer<typeof Special>).SpecialToken.id, 'special token'));
  }
  return {
    maxLength,
    encode(text: string): Int32Array {
      const norm = lower ? text.toLowerCase() : text;
      const words = norm.match(/\w+|[^\w\s]+/gu) ?? [];
      const room = Math.max(0, maxLength - before.length - after.length);
      const body = words.slice(0, room).map((w) => vocab.get(w) ?? unk);
      const ids = [...before, ...body, ...after].slice(0, maxLength);
      const out = new Int32Array(maxLength).fill(pad);
      out.set(ids);
      return out;
    },
  };
}
