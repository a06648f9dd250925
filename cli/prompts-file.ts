import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { BadFileError, ValidationError } from '../core/errors.js';
import type { PromptSettings } from '../core/generated/ttsnap/v1/PromptSettings.js';

/**
 * A search's prompts: trace rows by index (trace backend) or texts (model backends); `settings`, when the file
 * gave per-prompt overrides, is aligned with them (null for a prompt without any).
 */
export type PromptList = ({ readonly kind: 'trace'; readonly indices: readonly number[] } | { readonly kind: 'text'; readonly texts: readonly string[] }) & {
  readonly settings?: readonly (PromptSettings | null)[];
};

const ROW = /^\d+$/;

/** One JSONL line: the prompt (text, or trace row) and its overrides; the coordinator checks ranges against the job. */
const line = z.strictObject({
  text: z.string().trim().min(1).optional(),
  prompt: z.number().int().min(0).optional(),
  negative_prompt: z.string().optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  candidates: z.number().int().min(1).optional(),
  budget: z.number().positive().optional(),
  guidance: z.number().positive().optional(),
  steps: z.number().int().min(1).optional(),
  width: z.number().int().min(8).optional(),
  height: z.number().int().min(8).optional(),
});
type Line = z.infer<typeof line>;
const KEYS = Object.keys(line.shape).join(', ');

/** The overrides of one line as the job request carries them (null when it has none). */
function settingsOf(l: Line): PromptSettings | null {
  const sampling = { guidance: l.guidance ?? 0, steps: l.steps ?? 0, negative_prompt: l.negative_prompt ?? '', width: l.width ?? 0, height: l.height ?? 0 };
  const hasSampling = Object.values(sampling).some((v) => v !== 0 && v !== '');
  if (!hasSampling && l.seed === undefined && l.candidates === undefined && l.budget === undefined) return null;
  return { ...(hasSampling ? { sampling } : {}), seed: l.seed ?? 0, has_seed: l.seed !== undefined, candidates: l.candidates ?? 0, budget: l.budget ?? 0 };
}

/**
 * `--prompts-file F`: one prompt per line (a text, or a trace row index), or JSONL with one object per line:
 * `{"text": "..."}` or `{"prompt": 12}`, with optional per-prompt overrides (negative_prompt, seed, candidates
 * or budget, guidance, steps, width, height). Blank lines are skipped; texts and indices do not mix.
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
  const settings: (PromptSettings | null)[] = [];
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const field = `${file}:${i + 1}`;
    if (trimmed.startsWith('{')) {
      let obj: unknown;
      try {
        obj = JSON.parse(trimmed);
      } catch (err) {
        throw new BadFileError(field, 'is not a JSON object', { cause: err });
      }
      const parsed = line.safeParse(obj);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const key = issue?.code === 'unrecognized_keys' ? issue.keys[0] : issue?.path.join('.');
        const got = key ? (obj as Record<string, unknown>)[key] : obj;
        throw new ValidationError(key ? `${field}.${key}` : field, `got ${JSON.stringify(got)?.slice(0, 60)}`, `an object with "text" (a non-empty string) or "prompt" (a trace row index >= 0), and optionally: ${KEYS}`);
      }
      const l = parsed.data;
      if ((l.text === undefined) === (l.prompt === undefined)) throw new ValidationError(field, l.text === undefined ? 'neither "text" nor "prompt"' : 'both "text" and "prompt"', 'exactly one of "text" or "prompt"');
      if (l.candidates !== undefined && l.budget !== undefined) throw new ValidationError(`${field}.budget`, 'given with candidates', 'either candidates or budget');
      if (l.text !== undefined) texts.push(l.text);
      else indices.push(l.prompt as number);
      settings.push(settingsOf(l));
    } else {
      if (ROW.test(trimmed)) indices.push(Number(trimmed));
      else texts.push(trimmed);
      settings.push(null);
    }
    if (texts.length > 0 && indices.length > 0) throw new ValidationError(field, 'mixes trace indices and texts', 'texts only (model backends) or trace row indices only');
  });
  if (texts.length === 0 && indices.length === 0) throw new ValidationError(file, 'no prompts', 'one prompt per line');
  if (new Set(indices).size !== indices.length) throw new ValidationError(file, 'repeats a trace row', 'distinct trace row indices');
  const overrides = settings.some((s) => s !== null) ? { settings } : {};
  return texts.length > 0 ? { kind: 'text', texts, ...overrides } : { kind: 'trace', indices, ...overrides };
}
