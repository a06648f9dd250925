import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BadFileError, ValidationError } from '../errors.js';

/** A base trace file and its noise-aware twin when the folder has one. */
export interface TracePair {
  readonly name: string;
  readonly base: string;
  readonly narf?: string;
}

/** Every `<name>_base.npy` in `dir` with `<name>_narf.npy` if present, sorted by name. */
export function listTracePairs(dir: string, field = '--trace-dir'): TracePair[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    throw new BadFileError(dir, `cannot read the folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const files = new Set(entries);
  const pairs = entries
    .filter((f) => f.endsWith('_base.npy'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -'_base.npy'.length);
      const narf = `${name}_narf.npy`;
      return { name, base: join(dir, f), ...(files.has(narf) ? { narf: join(dir, narf) } : {}) };
    });
  if (pairs.length === 0) throw new ValidationError(field, `${dir} holds no <name>_base.npy file`, 'a folder with <name>_base.npy (and optionally <name>_narf.npy) traces');
  return pairs;
}
