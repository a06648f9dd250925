import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryScoreBus } from '../../core/bus/memory.js';
import type { OnnxBackend } from '../../worker/backends/onnx.js';
import { WorkerRuntime } from '../../worker/runtime.js';
import { spec, tinyBackend } from './helpers.js';

/**
 * Decode and rewards in a second inference thread (--score-thread on): the same scores, images and previews as
 * in one thread, and through the worker runtime, which then keeps a score call in flight beside the advances.
 */
describe('the score thread on the tiny bundle', () => {
  let one: OnnxBackend;
  let two: OnnxBackend;
  beforeAll(async () => {
    [one, two] = await Promise.all([tinyBackend({ maxBatch: 4 }).then((b) => b.backend), tinyBackend({ maxBatch: 4, scoreThread: true }).then((b) => b.backend)]);
  });
  afterAll(async () => {
    await Promise.all([one.close(), two.close()]);
  });

  it('loads decode and rewards in their own thread and scores exactly as one thread does (noise-aware at a prune point, base at the end)', async () => {
    expect([one.overlapsScoring, two.overlapsScoring]).toEqual([false, true]);
    const specs = Array.from({ length: 6 }, (_, i) => spec(i));
    const keys = specs.map((s) => s.key);
    const results = [];
    for (const b of [one, two]) {
      await b.create(specs);
      await b.advance(keys.map((key, i) => ({ key, toStep: i < 3 ? 2 : 6 })));
      await b.advance(keys.slice(0, 3).map((key) => ({ key, toStep: 6 })));
      const atSix = await b.score(keys, [{ name: 'align', noiseAware: true }, { name: 'quality', noiseAware: false }]);
      await b.advance(keys.map((key) => ({ key, toStep: 19 })));
      const final = await b.score(keys, [{ name: 'align', noiseAware: false }]);
      const images = await b.images(keys.slice(0, 2));
      b.release(keys);
      results.push({ atSix: atSix.map((a) => Array.from(a)), final: final.map((a) => Array.from(a)), images: Array.from(images) });
    }
    expect(results[1]).toEqual(results[0]);
  });

  it('through the worker runtime: every candidate scored at its prune point and at the end, as in one thread', { timeout: 60_000 }, async () => {
    const run = async (backend: OnnxBackend): Promise<Record<string, number>> => {
      const bus = new MemoryScoreBus();
      const scores: Record<string, number> = {};
      bus.subscribe((s) => (scores[`${s.candidate}@${s.step}/${s.reward}`] = s.value));
      const runtime = new WorkerRuntime({ id: 'w', backend, bus });
      try {
        const refs = Array.from({ length: 10 }, (_, i) => ({ prompt: 0, candidate: i }));
        await runtime.take('j', refs.map((r) => ({ ...r, seed: 300 + r.candidate, text: 'a red circle above a blue square' })));
        // prune-point scores for half the candidates while the others advance to the end
        runtime.advance('j', 6, refs.slice(0, 5), [{ name: 'align', noiseAware: true }]);
        runtime.advance('j', 19, refs.slice(5), [{ name: 'align', noiseAware: false }]);
        await runtime.idle();
        await bus.flush();
        return scores;
      } finally {
        runtime.release('j');
        await runtime.close().catch(() => undefined);
        await bus.close();
      }
    };
    const serial = await run(one);
    expect(Object.keys(serial)).toHaveLength(10);
    expect(await run(two)).toEqual(serial);
  });
});
