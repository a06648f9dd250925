import type { BadFileError } from '../../core/errors.js';

/** One stage of a tokenizer pipeline. */
export type Step = (s: string) => string;

interface Part {
  readonly type: string;
  readonly [k: string]: unknown;
}

const regexOf = (pattern: unknown, flags: string): RegExp => {
  const p = pattern as { Regex?: string; String?: string } | undefined;
  if (p?.Regex !== undefined) return new RegExp(p.Regex, flags);
  return new RegExp((p?.String ?? ' ').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags);
};

/** The normaliser chain of tokenizer.json. */
export function normalizer(n: Part | null, unsupported: (what: string) => BadFileError): Step {
  if (!n) return (s) => s;
  switch (n.type) {
    case 'Sequence': {
      const steps = ((n.normalizers as Part[]) ?? []).map((x) => normalizer(x, unsupported));
      return (s) => steps.reduce((acc, f) => f(acc), s);
    }
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'NFC':
    case 'NFKC':
    case 'NFD':
    case 'NFKD':
      return (s) => s.normalize(n.type as 'NFC');
    case 'Strip':
      return (s) => s.trim();
    case 'Replace': {
      const re = regexOf(n.pattern, 'gu');
      const content = String(n.content ?? '');
      return (s) => s.replace(re, content);
    }
    default:
      throw unsupported(`normalizer '${n.type}'`);
  }
}

// GPT-2's ByteLevel: the pre-split regex and the byte -> printable character table.
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const BYTE_CHARS: string[] = (() => {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const table: string[] = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(bs.includes(b) ? b : 256 + n++);
  return table;
})();

/** UTF-8 bytes of a word as ByteLevel's printable characters. */
export function byteLevel(word: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(word)) out += BYTE_CHARS[b] as string;
  return out;
}

/** The pre-tokeniser chain: text -> words (ByteLevel's byte mapping happens in the model, on each word). */
export function preTokenizer(p: Part | null, unsupported: (what: string) => BadFileError): (s: string) => string[] {
  if (!p) return (s) => [s];
  switch (p.type) {
    case 'Sequence': {
      const steps = ((p.pretokenizers as Part[]) ?? []).map((x) => preTokenizer(x, unsupported));
      return (s) => steps.reduce<string[]>((words, f) => words.flatMap(f), [s]);
    }
    case 'Whitespace':
      return (s) => s.match(/\w+|[^\w\s]+/gu) ?? [];
    case 'WhitespaceSplit':
      return (s) => s.split(/\s+/u).filter(Boolean);
    case 'Split': {
      // CLIP: the pattern matches the words (invert: true, behavior Removed); other uses split on it
      const re = regexOf(p.pattern, 'giu');
      if (p.invert === true) return (s) => s.match(re) ?? [];
      return (s) => s.split(re).filter(Boolean);
    }
    case 'ByteLevel':
      return p.use_regex === false ? (s) => [s] : (s) => s.match(GPT2_SPLIT) ?? [];
    default:
      throw unsupported(`pre_tokenizer '${p.type}'`);
  }
}

/**
 * BPE over one word: characters (after `mapWord`), the end-of-word suffix on the last one, then the merge of
 * lowest rank until none applies; symbols map to ids (unknown symbols to `unk`, or dropped when unk < 0).
 */
export function bpeModel(vocab: ReadonlyMap<string, number>, merges: readonly (string | readonly [string, string])[], suffix: string, unk: number, mapWord: (w: string) => string): (word: string) => number[] {
  const ranks = new Map<string, number>();
  merges.forEach((m, i) => ranks.set(typeof m === 'string' ? m : `${m[0]} ${m[1]}`, i));
  const cache = new Map<string, number[]>();
  return (raw) => {
    const hit = cache.get(raw);
    if (hit) return hit;
    const syms = [...mapWord(raw)];
    if (syms.length === 0) return [];
    syms[syms.length - 1] += suffix;
    for (;;) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = ranks.get(`${syms[i]} ${syms[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      syms.splice(best, 2, `${syms[best]}${syms[best + 1]}`);
    }
    const ids = syms.map((s) => vocab.get(s) ?? unk);
    if (cache.size < 10_000) cache.set(raw, ids);
    return ids;
  };
}
