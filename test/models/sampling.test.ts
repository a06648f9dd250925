// Per-candidate sampling settings on the tiny bundle: guidance, steps and negative prompt travel with the
// candidate (a job's or prompt's settings), change its image, and give exactly what a worker started with those
// flags gives; a candidate stays a pure function of (seed, settings) alone, in mixed batches and after moving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoiseCostAt } from '../../coordinator/sampling-spec.js';
import { decodeState } from '../../worker/onnx/state.js';
import type { OnnxBackend } from '../../worker/backends/onnx.js';
import type { CandidateSpec } from '../../worker/backend.js';
import { maxAbsDiff, spec, tinyBackend } from './helpers.js';

type Settings = { guidance?: number; steps?: number; negative_prompt?: string };
const withSettings = (i: number, s: Settings, key = `p0/c${i}`): CandidateSpec => ({ ...spec(i), key, sampling: { guidance: 0, steps: 0, negative_prompt: '', width: 0, height: 0, ...s } });

/** The candidates' final latents and clean-image scores, each advanced one step per call to its own last step. */
async function runToEnd(b: OnnxBackend, cands: readonly CandidateSpec[], move?: { at: number; to: OnnxBackend }): Promise<{ latents: Float32Array[]; scores: number[] }> {
  await b.create(cands);
  const holder = new Map(cands.map((c) => [c.key, b]));
  for (let s = 0; ; s++) {
    const due = cands.filter((c) => s < (holder.get(c.key) as OnnxBackend).stepCountOf(c.key)!);
    if (due.length === 0) break;
    for (const w of new Set(due.map((c) => holder.get(c.key) as OnnxBackend))) await w.advance(due.filter((c) => holder.get(c.key) === w).map((c) => ({ key: c.key, toStep: s })));
    if (move && s === move.at) {
      for (const c of cands) {
        const state = await b.exportState(c.key);
        b.release([c.key]);
        expect(await move.to.importState(c.key, state)).toBe(s);
        holder.set(c.key, move.to);
      }
    }
  }
  const latents: Float32Array[] = [];
  const scores: number[] = [];
  for (const c of cands) {
    const w = holder.get(c.key) as OnnxBackend;
    latents.push(decodeState(await w.exportState(c.key), 'tiny-shapes').latent);
    const [s] = await w.score([c.key], [{ name: 'align', noiseAware: false }]);
    scores.push((s as Float64Array)[0] as number);
    w.release([c.key]);
  }
  return { latents, scores };
}

describe('per-candidate sampling settings (tiny bundle)', () => {
  let plain: OnnxBackend;
  beforeAll(async () => {
    ({ backend: plain } = await tinyBackend({ maxBatch: 4 }));
  });
  afterAll(async () => {
    await plain.close();
  });

  it('reports what a job may set: its size (fixed exports), steps up to 1000, its own guidance and negative prompt, and that guidance doubles the passes', () => {
    expect(plain.info.sampling).toEqual({ per_candidate: true, width: 32, height: 32, size_step: 0, min_size: 0, max_size: 0, max_steps: 1000, guidance: 4, negative_prompt: '', guidance_doubles: true });
    // its cost is for its own guidance (4: two passes); a prompt at guidance 1 runs one
    expect(denoiseCostAt(plain.info, 1)).toBeCloseTo(plain.info.cost.denoise / 2, 12);
    expect(denoiseCostAt(plain.info, 7)).toBe(plain.info.cost.denoise);
  });

  for (const [name, settings, flags] of [
    ['guidance', { guidance: 7 }, { guidance: 7 }],
    ['steps', { steps: 25 }, { steps: 25 }],
    ['negative prompt', { negative_prompt: 'a blurry grey blob' }, { negativePrompt: 'a blurry grey blob' }],
    ['all three', { guidance: 1.5, steps: 12, negative_prompt: 'noise' }, { guidance: 1.5, steps: 12, negativePrompt: 'noise' }],
  ] as const) {
    it(`a candidate's ${name} changes its image and equals a worker started with that flag`, { timeout: 60_000 }, async () => {
      const base = await runToEnd(plain, [spec(0)]);
      const own = await runToEnd(plain, [withSettings(0, settings)]);
      expect(maxAbsDiff(own.latents[0]!, base.latents[0]!)).toBeGreaterThan(1e-3);
      expect(own.scores[0]).not.toBe(base.scores[0]);
      const { backend: flagged } = await tinyBackend({ maxBatch: 4, ...flags });
      try {
        const viaFlag = await runToEnd(flagged, [spec(0)]);
        expect(Array.from(own.latents[0]!)).toEqual(Array.from(viaFlag.latents[0]!));
        expect(own.scores).toEqual(viaFlag.scores);
      } finally {
        await flagged.close();
      }
    });
  }

  it('a candidate is the same alone, in a batch mixing settings, steps and unguided rows, and after moving to a worker with other defaults', { timeout: 90_000 }, async () => {
    const mix: CandidateSpec[] = [
      spec(0),
      withSettings(1, { guidance: 7, negative_prompt: 'dark' }),
      withSettings(2, { steps: 25 }),
      withSettings(3, { guidance: 1 }), // no guided pass: never in a call with guided rows
      withSettings(4, { steps: 12, negative_prompt: 'noise' }),
      withSettings(5, { guidance: 2.5, steps: 25 }),
    ];
    const together = await runToEnd(plain, mix);
    for (const [j, c] of mix.entries()) {
      const alone = await runToEnd(plain, [c]);
      expect(maxAbsDiff(alone.latents[0]!, together.latents[j]!)).toBeLessThan(1e-5);
      expect(Math.abs(alone.scores[0]! - together.scores[j]!)).toBeLessThan(1e-4);
    }
    // a state carries the settings it ran with: a worker with other flags resumes it with those, not its own
    const { backend: other } = await tinyBackend({ maxBatch: 4, guidance: 9, steps: 40, negativePrompt: 'x' });
    try {
      const moved = await runToEnd(plain, mix.map((c) => ({ ...c, key: `m/${c.key}` })), { at: 5, to: other });
      expect(moved.scores).toEqual(together.scores);
      moved.latents.forEach((l, j) => expect(Array.from(l)).toEqual(Array.from(together.latents[j]!)));
    } finally {
      await other.close();
    }
  });

  it('its own steps: advance stops at its last step; noise-aware variants are remapped by noise level', { timeout: 60_000 }, async () => {
    const c = withSettings(0, { steps: 40 });
    await plain.create([c, withSettings(1, { steps: 10 })]);
    expect([plain.stepCountOf(c.key), plain.stepCountOf('p0/c1')]).toEqual([40, 10]);
    await expect(plain.advance([{ key: 'p0/c1', toStep: 10 }])).rejects.toThrow('toStep: p0/c1 is at step -1, asked for 10; allowed: an integer in [0, 9]');
    for (let s = 0; s <= 5; s++) await plain.advance([{ key: c.key, toStep: s }]);
    // step 2 of the trained 20 (timestep 851) is step 5 of 40: scored with that variant, as a 40-step worker does
    const [at5] = await plain.score([c.key], [{ name: 'align', noiseAware: true }]);
    expect(Number.isFinite(at5![0])).toBe(true);
    plain.release([c.key, 'p0/c1']);
    const { backend: forty } = await tinyBackend({ maxBatch: 4, steps: 40 });
    try {
      await forty.create([spec(0)]);
      for (let s = 0; s <= 5; s++) await forty.advance([{ key: 'p0/c0', toStep: s }]);
      const [flagged] = await forty.score(['p0/c0'], [{ name: 'align', noiseAware: true }]);
      expect(Array.from(at5!)).toEqual(Array.from(flagged!));
    } finally {
      await forty.close();
    }
    await plain.create([c]);
    for (let s = 0; s <= 2; s++) await plain.advance([{ key: c.key, toStep: s }]);
    await expect(plain.score([c.key], [{ name: 'align', noiseAware: true }])).rejects.toThrow(/schedule: prunes at step 2, where reward align has no noise-aware variant \(variants at steps: 5, 13, 23\)/);
    plain.release([c.key]);
  });

  it('refuses another size and bad settings before creating anything, naming the field', async () => {
    const size = { ...spec(0), sampling: { guidance: 0, steps: 0, negative_prompt: '', width: 64, height: 0 } };
    await expect(plain.create([spec(1), size])).rejects.toThrow("sampling.width: got 64; allowed: 32 (0 = not set): this worker samples at the bundle's 32x32 (its exports have fixed spatial dims)");
    await expect(plain.create([withSettings(0, { steps: 1001 })])).rejects.toThrow('sampling.steps: got 1001; allowed: an integer in [2, 1000] (0 = not set)');
    expect(plain.liveKeys()).toEqual([]);
  });
});
