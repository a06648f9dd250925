import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** models/fixtures: tiny random-weight exports as the exporters write them, and the PyTorch reference results. */
export const FIXTURES = join(import.meta.dirname, '..', '..', 'models', 'fixtures');

/** Layouts with a PyTorch reference; every one but the legacy export also has an -fp16 copy. */
export const LAYOUTS = ['sd15', 'sd15-legacy', 'sd21', 'sd-turbo', 'sdxl', 'sdxl-turbo', 'sd3', 'flux-schnell', 'flux-dev'] as const;
export const FP16 = LAYOUTS.filter((l) => l !== 'sd15-legacy');

/** One sampling run of the reference: what a pipeline run is compared with. */
export interface ReferenceRun {
  /** set for ancestral runs: the sampler, and the first 16 values of each seed's step-0 and step-1 noise */
  readonly scheduler?: 'euler_ancestral';
  readonly step_noise_head?: readonly number[];
  readonly latent_step0: readonly number[];
  readonly x0_step0: readonly number[];
  readonly latents: readonly number[];
  readonly images: readonly number[];
  readonly scores: Readonly<Record<'clip' | 'imagereward' | 'aesthetic', readonly number[]>>;
}

/** reference/<layout>.json, written by models/fixtures/recipe/build.py. */
export interface Reference extends ReferenceRun {
  readonly layout: string;
  readonly prompt: string;
  readonly seeds: readonly number[];
  readonly steps: number;
  readonly guidance: number;
  readonly token_ids: Readonly<Record<string, readonly number[]>>;
  readonly noise_head: readonly number[];
  readonly timesteps: readonly number[];
  readonly reward_pixels_head: readonly number[];
  /** sd-turbo: the same model sampled with ancestral Euler (a manifest scheduler override) */
  readonly ancestral?: ReferenceRun;
  /** sd15, sdxl, sd3, flux-dev: the same seeds at a second image size (the exports' spatial dims are dynamic) */
  readonly other_size?: ReferenceRun & { readonly height: number; readonly width: number };
}

export function reference(layout: string): Reference {
  return JSON.parse(readFileSync(join(FIXTURES, 'reference', `${layout.replace(/-fp16$/, '')}.json`), 'utf8')) as Reference;
}

/** A private copy of a fixture folder (models init writes into it). */
export function copyFixture(name: string): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'ttsnap-fixture-'));
  const dir = join(root, name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** The three fixture rewards as `models add-reward` is told to attach them (ImageReward: length 35, its published normalisation). */
export const REWARDS = [
  { name: 'clip', opts: {} },
  { name: 'imagereward', opts: { maxLength: 35, scale: { mean: 0.16717362830052426, std: 1.0333394966054072 } } },
  { name: 'aesthetic', opts: {} },
] as const;

/** Largest |a - b| over max(1, |b|): absolute near zero, relative for large values. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)) / Math.max(1, Math.abs(b[i] as number)));
  return m;
}
