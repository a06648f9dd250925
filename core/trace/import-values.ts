import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { BadFileError, ValidationError } from '../errors.js';
import { writeNpy } from './npy.js';
import { writeTraceMeta } from './trace-meta.js';

/**
 * The TTSnap authors' published values (TerrysLearning/TTSnap, simulation/values): one folder per trace and
 * reward variant, `<model>_<reward>_val_base` and `<model>_<reward>_val_naft`, holding one YAML file per
 * sampling step, `p<P>_i<I>_s<SS>.yaml`, that maps each prompt index to its I candidates' rewards. The naft
 * folder has files only for the steps that have a noise-aware model.
 */
const STEP_FILE = /^p(\d+)_i(\d+)_s(\d+)\.yaml$/;
const BASE_DIR = /^(.+)_val_base$/;

/** One step's rewards: prompt index -> candidates' values. */
type StepValues = ReadonlyMap<number, readonly number[]>;

export interface ImportOptions {
  /** [start, end) positions in the sorted prompt list (default all) */
  readonly prompts?: readonly [number, number];
  /** called after each trace is written */
  readonly onTrace?: (summary: ImportedTrace) => void;
}

export interface ImportedTrace {
  readonly name: string;
  readonly shape: readonly [number, number, number];
  readonly narfSteps: readonly number[];
}

/** Converts every `<name>_val_base` folder under `dir` (with its `_val_naft` twin) into `<name>_base.npy`, `<name>_narf.npy` and meta.json in `out`. */
export function importPublishedValues(dir: string, out: string, opts: ImportOptions = {}): ImportedTrace[] {
  const entries = listDir(dir);
  const names = entries.map((e) => BASE_DIR.exec(e)?.[1]).filter((n): n is string => n !== undefined).sort();
  if (names.length === 0) {
    throw new ValidationError('DIR', `${dir} holds no <model>_<reward>_val_base folder`, "the published values folder (TTSnap's simulation/values)");
  }
  mkdirSync(out, { recursive: true });
  const done: ImportedTrace[] = [];
  for (const name of names) {
    const base = readVariant(join(dir, `${name}_val_base`));
    const naftDir = join(dir, `${name}_val_naft`);
    const naft = entries.includes(`${name}_val_naft`) ? readVariant(naftDir) : new Map<number, StepValues>();
    const trace = assemble(name, base, naft, dir, opts.prompts);
    writeNpy(join(out, `${name}_base.npy`), { shape: trace.shape, data: trace.base });
    writeNpy(join(out, `${name}_narf.npy`), { shape: trace.shape, data: trace.narf });
    writeTraceMeta(out, { [name]: { narf_steps: [...trace.narfSteps] } });
    const summary = { name, shape: trace.shape, narfSteps: trace.narfSteps };
    opts.onTrace?.(summary);
    done.push(summary);
  }
  return done;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    throw new BadFileError(dir, `cannot read the folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
}

/** step -> values of one variant folder. */
function readVariant(folder: string): Map<number, StepValues> {
  const steps = new Map<number, StepValues>();
  for (const f of listDir(folder).sort()) {
    const m = STEP_FILE.exec(f);
    if (!m) continue;
    const step = Number(m[3]);
    const file = join(folder, f);
    if (steps.has(step)) throw new BadFileError(file, `a second file for step ${step}`);
    steps.set(step, readStepFile(file));
  }
  if (steps.size === 0) throw new BadFileError(folder, 'holds no p<P>_i<I>_s<SS>.yaml file');
  return steps;
}

function readStepFile(file: string): StepValues {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BadFileError(file, `cannot read it as YAML (${(err as Error).message})`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new BadFileError(file, 'expected a mapping of prompt index to a list of rewards');
  const values = new Map<number, number[]>();
  for (const [key, list] of Object.entries(doc)) {
    const prompt = Number(key);
    if (!Number.isInteger(prompt) || prompt < 0) throw new BadFileError(file, `key '${key}' is not a prompt index`);
    if (!Array.isArray(list) || list.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new BadFileError(file, `prompt ${key}: expected a list of finite numbers`);
    }
    values.set(prompt, list as number[]);
  }
  return values;
}

interface Assembled {
  readonly shape: readonly [number, number, number];
  readonly base: Float32Array;
  readonly narf: Float32Array;
  readonly narfSteps: readonly number[];
}

/** [P, I, S] arrays from the per-step maps; every step must cover the same prompts with the same candidate count. */
function assemble(name: string, base: Map<number, StepValues>, naft: Map<number, StepValues>, dir: string, range?: readonly [number, number]): Assembled {
  const stepCount = base.size;
  for (let s = 0; s < stepCount; s++) if (!base.has(s)) throw new BadFileError(join(dir, `${name}_val_base`), `step ${s} is missing (steps 0..${stepCount - 1} expected)`);
  for (const s of naft.keys()) if (s >= stepCount - 1) throw new BadFileError(join(dir, `${name}_val_naft`), `step ${s}: noise-aware values at or after the final step ${stepCount - 1}`);
  const first = base.get(0) as StepValues;
  const all = [...first.keys()].sort((a, b) => a - b);
  const [p0, p1] = range ?? [0, all.length];
  if (p1 > all.length) throw new ValidationError('--prompts', `${p0}:${p1} reaches past the ${all.length} prompts of ${name}`, `start:end with end <= ${all.length}`);
  const prompts = all.slice(p0, p1);
  const candidates = (first.get(prompts[0] as number) as readonly number[]).length;
  const shape = [prompts.length, candidates, stepCount] as const;
  const baseArr = new Float32Array(prompts.length * candidates * stepCount);
  const narfArr = new Float32Array(baseArr.length);
  const fill = (target: Float32Array, step: number, values: StepValues, variant: string): void => {
    prompts.forEach((prompt, p) => {
      const row = values.get(prompt);
      if (!row || row.length !== candidates) {
        throw new BadFileError(join(dir, `${name}_val_${variant}`), `step ${step}, prompt ${prompt}: ${row ? `${row.length} values` : 'missing'}; expected ${candidates}`);
      }
      for (let i = 0; i < candidates; i++) target[(p * candidates + i) * stepCount + step] = row[i] as number;
    });
  };
  for (const [s, values] of base) {
    fill(baseArr, s, values, 'base');
    fill(narfArr, s, naft.get(s) ?? values, naft.has(s) ? 'naft' : 'base');
  }
  return { shape, base: baseArr, narf: narfArr, narfSteps: [...naft.keys()].sort((a, b) => a - b) };
}
