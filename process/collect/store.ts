import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../../core/errors.js';
import type { TweedieChunk } from '../../core/contract/collect.js';
import { npyHeader, writeNpy } from '../../core/trace/npy.js';
import { writeTraceMeta } from '../../core/trace/trace-meta.js';
import type { CollectSpec } from './spec.js';

const SPEC_FILE = 'collect.json';
const PARTS = 'parts';
const TWEEDIE = 'tweedie';

const partName = (position: number): string => `p${String(position).padStart(5, '0')}`;

/** A prompt's Tweedie file being written piece by piece (as `<name>.npy.tmp`), and how much of each image has come. */
interface OpenTweedie {
  readonly fd: number;
  readonly file: string;
  readonly imageValues: number;
  readonly header: number;
  /** values received per [candidate][saved step] (a batch sent again writes its pieces again) */
  readonly got: Uint32Array;
}

/**
 * The --out folder of a collection. Each finished prompt is written as a part (atomically, after its Tweedie
 * images), so a rerun of the same command skips finished prompts; collect.json holds the spec, and a rerun
 * with other settings is refused instead of mixing two collections. `finish` writes the traces
 * (`<reward>_base.npy`, `<reward>_narf.npy`, [P, I, S]) and meta.json.
 */
export class CollectStore {
  private readonly open = new Map<number, OpenTweedie>();

  private constructor(
    readonly dir: string,
    readonly spec: CollectSpec,
  ) {}

  static open(dir: string, spec: CollectSpec): CollectStore {
    mkdirSync(join(dir, PARTS), { recursive: true });
    if (spec.saveTweedie.length > 0) mkdirSync(join(dir, TWEEDIE), { recursive: true });
    const file = join(dir, SPEC_FILE);
    const want = JSON.stringify(spec);
    if (existsSync(file)) {
      const had = readFileSync(file, 'utf8').trim();
      if (had !== want) {
        const old = JSON.parse(had) as Record<string, unknown>;
        const differ = Object.keys(spec).filter((k) => JSON.stringify(old[k]) !== JSON.stringify((spec as unknown as Record<string, unknown>)[k]));
        throw new ValidationError('--out', `${dir} holds a collection with other settings (${differ.join(', ') || 'format'} differ)`, 'an empty folder, or the same command to resume');
      }
    } else {
      writeAtomic(file, `${want}\n`);
    }
    return new CollectStore(dir, spec);
  }

  /** Positions of the prompts already collected. */
  done(): Set<number> {
    const names = new Set(readdirSync(join(this.dir, PARTS)));
    return new Set(this.spec.texts.map((_, p) => p).filter((p) => names.has(`${partName(p)}.f32`)));
  }

  /**
   * Writes a piece of one of the prompt's Tweedie images into `tweedie/<part>.npy.tmp`
   * ([candidate, saved step, 3 * H * W]: the decoder's output in [-1, 1], as the rewards see it), at its place, so
   * that no more than a piece is held in memory whatever the image size.
   */
  writeTweedie(position: number, c: TweedieChunk): void {
    const { candidates: I, saveTweedie } = this.spec;
    const saved = saveTweedie.length;
    if (c.candidate >= I || c.slot >= saved) throw new RangeError(`a Tweedie piece for candidate ${c.candidate}, saved step ${c.slot} of a collection of ${I} candidates x ${saved} saved steps`);
    let t = this.open.get(position);
    if (!t) {
      const file = join(this.dir, TWEEDIE, `${partName(position)}.npy`);
      const header = npyHeader([I, saved, c.imageValues]);
      const fd = openSync(`${file}.tmp`, 'w');
      writeSync(fd, header, 0, header.length, 0);
      t = { fd, file, imageValues: c.imageValues, header: header.length, got: new Uint32Array(I * saved) };
      this.open.set(position, t);
    }
    if (c.imageValues !== t.imageValues) throw new RangeError(`a Tweedie piece of an image of ${c.imageValues} values; this prompt's have ${t.imageValues}`);
    const image = c.candidate * saved + c.slot;
    writeSync(t.fd, Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength), 0, c.data.byteLength, t.header + (image * t.imageValues + c.offset) * 4);
    t.got[image] = (t.got[image] as number) + c.data.length;
  }

  /** Records one prompt: its Tweedie file (when saved, complete) is moved into place first, then its values part, which marks it done. */
  writePrompt(position: number, values: Float32Array): void {
    if (this.spec.saveTweedie.length > 0) {
      const t = this.open.get(position);
      const missing = t ? t.got.findIndex((n) => n < t.imageValues) : 0;
      if (!t || missing >= 0) throw new RangeError(`prompt ${position} is done but Tweedie image ${missing} (candidate x saved step) has not come whole`);
      closeSync(t.fd);
      this.open.delete(position);
      renameSync(`${t.file}.tmp`, t.file);
    }
    writeAtomic(join(this.dir, PARTS, `${partName(position)}.f32`), Buffer.from(values.buffer, values.byteOffset, values.byteLength));
  }

  /** Closes and removes the Tweedie files of prompts that did not finish (a rerun collects them again). */
  dropPartial(): void {
    for (const t of this.open.values()) {
      closeSync(t.fd);
      rmSync(`${t.file}.tmp`, { force: true });
    }
    this.open.clear();
  }

  /** Writes the traces and meta.json from the parts; every prompt must be done. */
  finish(): string[] {
    const { texts, candidates: I, steps: S, rewards } = this.spec;
    const P = texts.length;
    const R = rewards.length;
    const out = rewards.map(() => [new Float32Array(P * I * S), new Float32Array(P * I * S)] as const);
    for (let p = 0; p < P; p++) {
      const buf = readFileSync(join(this.dir, PARTS, `${partName(p)}.f32`));
      const part = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      if (part.length !== R * 2 * I * S) throw new RangeError(`${partName(p)}.f32 holds ${part.length} values, expected ${R * 2 * I * S}`);
      rewards.forEach((_, r) => {
        for (const v of [0, 1] as const) out[r]?.[v].set(part.subarray((r * 2 + v) * I * S, (r * 2 + v + 1) * I * S), p * I * S);
      });
    }
    const files: string[] = [];
    rewards.forEach((name, r) => {
      const [base, narf] = out[r] as readonly [Float32Array, Float32Array];
      for (const [variant, data] of [['base', base], ['narf', narf]] as const) {
        const f = join(this.dir, `${name}_${variant}.npy`);
        writeNpyAtomic(f, [P, I, S], data);
        files.push(f);
      }
    });
    const s = this.spec;
    writeTraceMeta(
      this.dir,
      Object.fromEntries(
        rewards.map((name) => [
          name,
          { narf_steps: [...(s.variantSteps[name] ?? [])], prompts: [...s.texts], prompt_ids: [...s.promptIds], candidates: I, seed: s.seed, bundle: s.source, cost: s.cost },
        ]),
      ),
    );
    files.push(join(this.dir, 'meta.json'));
    return files;
  }
}

function writeAtomic(file: string, data: string | Buffer): void {
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}

function writeNpyAtomic(file: string, shape: readonly number[], data: Float32Array): void {
  writeNpy(`${file}.tmp`, { shape, data });
  renameSync(`${file}.tmp`, file);
}
