import { describe, expect, it } from 'vitest';
import { conversions } from '../../worker/onnx/float16.js';
import { initManifest, writeManifest } from '../../worker/onnx/init.js';
import { OnnxPipeline } from '../../worker/onnx/pipeline.js';
import { copyFixture } from './fixture-helpers.js';

/**
 * fp16 end to end where the model is fp16: text embeddings are encoded once per prompt and kept as float16, and a
 * denoise call converts only what the float32 scheduler arithmetic needs: the latents going in (both guidance
 * halves) and the model output coming back, plus the timestep.
 */
describe.each(['sd15-fp16', 'sdxl-fp16', 'flux-dev-fp16'])('%s', (name) => {
  it('keeps conditioning as float16 and converts only latents in and out per denoise call', { timeout: 60_000 }, async () => {
    const fx = copyFixture(name);
    try {
      writeManifest(fx.dir, initManifest(fx.dir).manifest);
      const p = await OnnxPipeline.load({ bundle: fx.dir, provider: 'cpu', threads: 1, maxBatch: 8 }, () => undefined);
      try {
        const B = 3;
        const specs = Array.from({ length: B }, (_, i) => ({ key: `k${i}`, prompt: 0, text: i === 2 ? 'a blue square' : 'a red circle', candidate: i, seed: 20 + i }));
        await p.create(specs);
        const l = p.bundle.manifest.latent;
        const n = l.channels * l.height * l.width;
        const rows = p.guidance > 1 && p.bundle.denoiser.doublesForGuidance ? 2 * B : B;
        await p.advance(specs.map((s) => ({ key: s.key, toStep: 0 }))); // the first call also converts constant rows (SDXL time_ids, FLUX guidance) once
        const before = { ...conversions };
        await p.advance(specs.map((s) => ({ key: s.key, toStep: 1 })));
        // sample rows in, the timestep (one value, or one per row where the graph takes [B]), output rows back
        const timesteps = p.bundle.denoiser.mixedSteps ? rows : 1;
        expect(conversions.toHalf - before.toHalf).toBe(rows * n + timesteps);
        expect(conversions.fromHalf - before.fromHalf).toBe(rows * n);
        expect(p.conditioningType).toBe('float16');
      } finally {
        await p.close();
      }
    } finally {
      fx.cleanup();
    }
  });
});
