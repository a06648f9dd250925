import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { BadFileError } from '../../core/errors.js';
import { readJson } from './manifest.js';
import { bertTokenizerJson, clipTokenizerJson } from './tokenizer-convert.js';

/** Token ids of a prompt, exactly maxLength long (truncated keeping the end token, then padded), and its mask. */
export interface Encoded {
  readonly ids: Int32Array;
  /** 1 for real tokens, 0 for padding (the attention_mask of models that take one) */
  readonly mask: Int32Array;
}

export interface Tokenizer {
  readonly maxLength: number;
  encode(text: string): Int32Array;
  encodeWithMask(text: string): Encoded;
}

type Config = { pad_token?: unknown; tokenizer_class?: unknown; do_lower_case?: unknown } & Record<string, unknown>;

/**
 * A tokenizer folder as exporters ship it, read with Hugging Face's tokenizers.js: `tokenizer.json` (BPE,
 * Unigram, WordPiece, WordLevel), or Optimum's CLIP layout `vocab.json` + `merges.txt`, or BERT's `vocab.txt`,
 * both converted on load to the tokenizer.json that transformers' fast tokenizers would write. Padding uses
 * tokenizer_config.json's pad_token (SDXL's second CLIP pads with '!'), else tokenizer.json's padding, else
 * the end token. Anything else is refused naming the folder and what is read.
 */
export function loadTokenizer(folder: string, maxLength: number): Tokenizer {
  const cfgFile = join(folder, 'tokenizer_config.json');
  const config: Config = existsSync(cfgFile) ? (readJson(cfgFile, 'a tokenizer config') as Config) : {};
  const { json, file } = tokenizerJson(folder, config);
  let tok: HfTokenizer;
  try {
    tok = new HfTokenizer({ added_tokens: [], decoder: null, normalizer: null, pre_tokenizer: null, post_processor: null, ...json }, config);
  } catch (err) {
    throw new BadFileError(file, `cannot build a tokenizer from it (${(err as Error).message.split('\n')[0]}); expected BPE, Unigram, WordPiece or WordLevel as Hugging Face tokenizers writes them`, { cause: err });
  }
  const pad = padId(tok, json, config, file);
  const encodeWithMask = (text: string): Encoded => {
    let ids = tok.encode(text).ids;
    // truncation keeps the last (end) token, as the fast tokenizers' truncation inside the template does
    if (ids.length > maxLength) ids = [...ids.slice(0, maxLength - 1), ids[ids.length - 1] as number];
    const out = new Int32Array(maxLength).fill(pad);
    const mask = new Int32Array(maxLength);
    out.set(ids);
    mask.fill(1, 0, ids.length);
    return { ids: out, mask };
  };
  return { maxLength, encodeWithMask, encode: (text) => encodeWithMask(text).ids };
}

function tokenizerJson(folder: string, config: Config): { json: Record<string, unknown>; file: string } {
  const file = join(folder, 'tokenizer.json');
  if (existsSync(file)) {
    const json = readJson(file, 'a Hugging Face tokenizers JSON');
    if (typeof json !== 'object' || json === null || typeof (json as { model?: unknown }).model !== 'object') throw new BadFileError(file, 'has no model; expected a Hugging Face tokenizers JSON');
    return { json: json as Record<string, unknown>, file };
  }
  const vocabJson = join(folder, 'vocab.json');
  const merges = join(folder, 'merges.txt');
  if (existsSync(vocabJson) && existsSync(merges)) {
    const cls = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : 'CLIPTokenizer';
    if (!cls.startsWith('CLIPTokenizer')) throw new BadFileError(vocabJson, `vocab.json + merges.txt of a ${cls} are not converted; expected a CLIPTokenizer's, or a tokenizer.json`);
    const vocab = readJson(vocabJson, 'a BPE vocabulary (token -> id)') as Record<string, number>;
    return { json: clipTokenizerJson(vocab, readText(merges)), file: vocabJson };
  }
  const vocabTxt = join(folder, 'vocab.txt');
  if (existsSync(vocabTxt)) return { json: bertTokenizerJson(readText(vocabTxt), config.do_lower_case !== false), file: vocabTxt };
  const spm = join(folder, 'spiece.model');
  if (existsSync(spm)) throw new BadFileError(spm, 'a SentencePiece model alone is not read; expected tokenizer.json beside it (T5TokenizerFast.save_pretrained writes one)');
  throw new BadFileError(folder, 'has no tokenizer; expected tokenizer.json, vocab.json + merges.txt (CLIP) or vocab.txt (BERT)');
}

function padId(tok: HfTokenizer, json: Record<string, unknown>, config: Config, file: string): number {
  const p = config.pad_token;
  const name = typeof p === 'string' ? p : typeof p === 'object' && p !== null && typeof (p as { content?: unknown }).content === 'string' ? (p as { content: string }).content : undefined;
  if (name !== undefined) {
    const id = tok.token_to_id(name);
    if (id === undefined) throw new BadFileError(file, `pad_token '${name}' of tokenizer_config.json is not in the vocabulary`);
    return id;
  }
  const padding = json.padding as { pad_id?: unknown } | null | undefined;
  if (typeof padding?.pad_id === 'number') return padding.pad_id;
  const ids = tok.encode('').ids;
  return ids[ids.length - 1] ?? 0;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new BadFileError(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
}
