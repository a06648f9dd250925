import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BadFileError } from '../errors.js';

/**
 * `meta.json` beside a folder of traces: per trace name, the steps that really have noise-aware values (at the
 * others the narf file repeats the base values) and, for collected traces, where they came from. The paper's
 * folder (../shared/traces) holds only `narf_steps`; `ttsnap collect` adds the rest.
 */
const TraceMetaSchema = z
  .object({
    narf_steps: z.array(z.number().int().nonnegative()),
    prompts: z.array(z.string()).optional(),
    /** each prompt's index in a search job (its position for texts, its row for a trace): what its seeds derive from */
    prompt_ids: z.array(z.number().int().nonnegative()).optional(),
    /** candidates per prompt and the seed they were drawn from (as `search --seed`) */
    candidates: z.number().int().positive().optional(),
    seed: z.number().int().nonnegative().optional(),
    bundle: z.object({ name: z.string(), fingerprint: z.string() }).optional(),
    cost: z.object({ denoise: z.number(), verify: z.number() }).optional(),
  })
  .loose();

export type TraceMeta = z.infer<typeof TraceMetaSchema>;
export type TraceMetaFile = Record<string, TraceMeta>;

const FILE = 'meta.json';

/** The folder's meta.json, or an empty record when it has none. */
export function readTraceMeta(dir: string): TraceMetaFile {
  const file = join(dir, FILE);
  if (!existsSync(file)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BadFileError(file, 'cannot read it as JSON', { cause: err });
  }
  const parsed = z.record(z.string(), TraceMetaSchema).safeParse(json);
  if (!parsed.success) throw new BadFileError(file, `not a trace meta file: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/** Merges `entries` into the folder's meta.json (other traces' entries are kept); written atomically. */
export function writeTraceMeta(dir: string, entries: TraceMetaFile): void {
  const merged = { ...readTraceMeta(dir), ...entries };
  const file = join(dir, FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(merged, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The steps with noise-aware values that meta.json in `dir` lists for trace `name`, or undefined when it lists none. */
export function narfStepsOf(dir: string, name: string): readonly number[] | undefined {
  return readTraceMeta(dir)[name]?.narf_steps;
}
