import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialNoise } from '../../core/diffusion/noise.js';
import { decodePng } from '../../core/image/png.js';
import { decodeState } from '../../worker/onnx/state.js';
import type { OnnxBackend } from '../../worker/backends/onnx.js';
import { maxAbsDiff, spec, tinyBackend } from './helpers.js';

describe('onnx pipeline on the tiny bundle', () => {
  let backend: OnnxBackend;
  let logs: string[];
  beforeAll(async () => {
    ({ backend, logs } = await tinyBackend({ maxBatch: 4 }));
  });
  afterAll(async () => {
    await backend.close();
  });

  it('reports the bundle and says which execution provider it runs on', () => {
    expect(backend.info).toMatchObject({ backend: 'onnx', steps: 20, maxBatch: 4, rewards: ['align', 'quality'], renders: true, model: 'tiny-shapes' });
    expect(logs.some((l) => /on execution provider cpu, ddim 20 steps/.test(l))).toBe(true);
  });

  it('starts from the documented noise: step -1 latent = Philox/Box-Muller noise of the seed', async () => {
    await backend.create([spec(0)]);
    const s = decodeState(await backend.exportState('p0/c0'), 'tiny-shapes');
    expect(s.step).toBe(-1);
    expect(Array.from(s.latent)).toEqual(Array.from(initialNoise(1000, 4 * 8 * 8)));
    backend.release(['p0/c0']);
  });

  it('a candidate gives the same latents alone or in a batch of 6 (split 4 + 2) with other prompts', async () => {
    await backend.create([spec(0)]);
    for (let s = 0; s <= 2; s++) await backend.advance([{ key: 'p0/c0', toStep: s }]);
    const alone = decodeState(await backend.exportState('p0/c0'), 'tiny-shapes');
    backend.release(['p0/c0']);
    const batch = [spec(5), spec(0), spec(1, 'a green triangle left of a red square'), spec(2), spec(3), spec(4)];
    await backend.create(batch);
    await backend.advance(batch.map((b) => ({ key: b.key, toStep: 2 })));
    const inBatch = decodeState(await backend.exportState('p0/c0'), 'tiny-shapes');
    expect(inBatch.step).toBe(2);
    expect(maxAbsDiff(alone.latent, inBatch.latent)).toBeLessThan(1e-5);
    expect(maxAbsDiff(alone.x0 as Float32Array, inBatch.x0 as Float32Array)).toBeLessThan(1e-5);
    backend.release(batch.map((b) => b.key));
  });

  it('scores: one finite value per candidate and reward, the same when asked again; unknown rewards named', async () => {
    const cands = [0, 1, 2].map((i) => spec(i));
    await backend.create(cands);
    await backend.advance(cands.map((c) => ({ key: c.key, toStep: 2 })));
    const keys = cands.map((c) => c.key);
    const [narf, base, quality] = await backend.score(keys, [
      { name: 'align', noiseAware: true },
      { name: 'align', noiseAware: false },
      { name: 'quality', noiseAware: false },
    ]);
    for (const s of [narf, base, quality]) {
      expect(s).toBeInstanceOf(Float64Array);
      expect(s?.length).toBe(3);
      for (const v of s ?? []) expect(Number.isFinite(v)).toBe(true);
    }
    // same scores when scored again (sessions are deterministic)
    const [again] = await backend.score(keys, [{ name: 'align', noiseAware: true }]);
    expect(Array.from(again as Float64Array)).toEqual(Array.from(narf as Float64Array));
    await expect(backend.score(keys, [{ name: 'beauty', noiseAware: false }])).rejects.toThrow(/reward: unknown reward 'beauty'; allowed: align \| quality/);
    backend.release(keys);
  });

  it('decodes to [B, 3, 32, 32] in [-1, 1] and renders a 32x32 PNG', async () => {
    await backend.create([spec(0), spec(1)]);
    await backend.advance([0, 1].map((i) => ({ key: `p0/c${i}`, toStep: 5 })));
    const img = await backend.images(['p0/c0', 'p0/c1']);
    expect(img.length).toBe(2 * 3 * 32 * 32);
    for (const v of img) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    const png = decodePng(await backend.render('p0/c0'));
    expect([png.width, png.height]).toEqual([32, 32]);
    backend.release(['p0/c0', 'p0/c1']);
  });

  it('a full run to step 19 twice gives identical final scores; export/import resumes mid-way', async () => {
    const run = async (prefix: string, moveAt: number | null): Promise<Float64Array> => {
      const cands = [0, 1, 2, 3].map((i) => ({ ...spec(i), key: `${prefix}${i}` }));
      await backend.create(cands);
      for (let s = 0; s < 20; s++) {
        await backend.advance(cands.map((c) => ({ key: c.key, toStep: s })));
        if (s === moveAt) {
          const state = await backend.exportState(cands[1]!.key);
          backend.release([cands[1]!.key]);
          expect(await backend.importState(cands[1]!.key, state)).toBe(s);
        }
      }
      const [scores] = await backend.score(cands.map((c) => c.key), [{ name: 'align', noiseAware: false }]);
      backend.release(cands.map((c) => c.key));
      return scores as Float64Array;
    };
    const a = await run('a', null);
    const b = await run('b', 7);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(backend.liveKeys()).toEqual([]);
  });

  it('rejects steps out of order and unknown candidates', async () => {
    await backend.create([spec(0)]);
    await expect(backend.advance([{ key: 'p0/c0', toStep: 20 }])).rejects.toThrow(/toStep: p0\/c0 is at step -1, asked for 20; allowed: an integer in \[0, 19\]/);
    await expect(backend.advance([{ key: 'nope', toStep: 0 }])).rejects.toThrow(/candidate nope is not held/);
    backend.release(['p0/c0']);
  });
});
