import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initManifest, writeManifest } from '../../worker/onnx/init.js';
import { OnnxPipeline } from '../../worker/onnx/pipeline.js';
import { addReward } from '../../worker/onnx/reward-folder.js';
import { decodeState } from '../../worker/onnx/state.js';
import { copyFixture, FIXTURES } from './fixture-helpers.js';

/**
 * Ancestral Euler (the SDXL-Turbo fixture's EulerAncestralDiscreteScheduler): the noise added at each step is
 * a function of the candidate's seed and the step alone, so a candidate ends the same whatever batch it was
 * in and when it moves between workers mid-way.
 */
describe('ancestral sampling on the sdxl-turbo fixture', () => {
  it('models init says what runs; a candidate ends the same alone, in a batch with others, and after moving at step 1', { timeout: 120_000 }, async () => {
    const fx = copyFixture('sdxl-turbo');
    try {
      const { manifest, notes } = initManifest(fx.dir);
      expect(manifest.sampling.scheduler).toBe('euler_ancestral');
      expect(notes.join('\n')).toContain('EulerAncestralDiscreteScheduler: ancestral Euler; the noise added at step i is Philox stream i + 1');
      writeManifest(fx.dir, addReward(fx.dir, manifest, 'clip', join(FIXTURES, 'rewards', 'clip'), {}).manifest);
      const open = (): Promise<OnnxPipeline> => OnnxPipeline.load({ bundle: fx.dir, provider: 'cpu', threads: 1, maxBatch: 8 }, () => undefined);
      const [a, b] = await Promise.all([open(), open()]);
      try {
        const spec = (key: string, seed: number, text = 'a red circle') => ({ key, prompt: 0, text, candidate: 0, seed });
        const last = a.steps - 1;
        const latent = (p: OnnxPipeline, key: string): number[] => Array.from(decodeState(p.exportState(key), p.bundle.manifest.name).latent);
        await a.create([spec('alone', 11)]);
        await a.advance([{ key: 'alone', toStep: last }]);
        // in a batch with other seeds and prompts, some of them a step ahead
        await a.create([spec('x', 11), spec('y', 12, 'a blue square'), spec('z', 13)]);
        await a.advance([{ key: 'y', toStep: 0 }]);
        await a.advance([{ key: 'x', toStep: last }, { key: 'y', toStep: last }, { key: 'z', toStep: last }]);
        // moved to another pipeline after step 1
        await a.create([spec('m', 11)]);
        await a.advance([{ key: 'm', toStep: 1 }]);
        await b.importState('m', a.exportState('m'));
        await b.advance([{ key: 'm', toStep: last }]);
        const alone = latent(a, 'alone');
        expect(latent(a, 'x')).toEqual(alone);
        expect(latent(b, 'm')).toEqual(alone);
        expect(latent(a, 'z')).not.toEqual(alone);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    } finally {
      fx.cleanup();
    }
  });
});
