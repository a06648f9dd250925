import { readFileSync } from 'node:fs';
import { BadFileError, ValidationError } from '../core/errors.js';

/** A search's prompts: trace rows by index (trace backend) or texts (model backends). */
export type PromptList = { readonly kind: 'trace'; readonly indices: readonly number[] } | { readonly kind: 'text'; readonly texts: readonly string[] };

const ROW = /^\d+$/;

/**
 * `--prompts-file F`: one prompt per line (a text, or a trace row index), or JSONL with one object per line
 * ({"text": "..."} or {"prompt": 12}). Blank lines are skipped; texts and indices do not mix. Per-prompt
 * overrides (negative prompt, seed, candidates, budget) are refused by name: the job request has no field
 * for them yet.
 */
export function readPromptsFile(file: string): PromptList {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BadFileError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const texts: string[] = [];
  const indices: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const field = `${file}:${i + 1}`;
    if (line.startsWith('{')) {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new BadFileError(field, 'is not a JSON object', { cause: err });
      }
      const entries = Object.entries(obj as Record<string, unknown>);
      for (const [key, value] of entries) {
        if (key === 'text' && typeof value === 'string' && value.trim() !== '') texts.push(value);
        else if (key === 'prompt' && typeof value === 'number' && Number.isInteger(value) && value >= 0) indices.push(value);
        else throw new ValidationError(`${field}.${key}`, `got ${JSON.stringify(value).slice(0, 60)}`, '"text": a non-empty string, or "prompt": a trace row index >= 0 (per-prompt overrides are not supported)');
      }
      if (entries.length !== 1) throw new ValidationError(field, `${entries.length} fields`, 'exactly one of "text" or "prompt"');
    } else if (ROW.test(line)) indices.push(Number(line));
    else texts.push(line);
    if (texts.length > 0 && indices.length > 0) throw new ValidationError(field, 'mixes trace indices and texts', 'texts only (model backends) or trace row indices only');
  });
  if (texts.length === 0 && indices.length === 0) throw new ValidationError(file, 'no prompts', 'one prompt per line');
  if (new Set(indices).size !== indices.length) throw new ValidationError(file, 'repeats a trace row', 'distinct trace row indices');
  return texts.length > 0 ? { kind: 'text', texts } : { kind: 'trace', indices };
}
