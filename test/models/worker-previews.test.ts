import { describe, expect, it } from 'vitest';
import { candidateKey } from '../../core/contract/candidates.js';
import { MemoryScoreBus } from '../../core/bus/memory.js';
import type { PreviewMessage } from '../../core/bus/score-bus.js';
import { decodePng } from '../../core/image/png.js';
import { OnnxBackend } from '../../worker/backends/onnx.js';
import { InferenceHost } from '../../worker/onnx/host.js';
import { WorkerPreviews } from '../../worker/previews.js';
import { WorkerRuntime } from '../../worker/runtime.js';
import { PROMPT, TINY } from './helpers.js';

describe('a model worker\'s previews (search --contact-sheets)', () => {
  it('are published only for Advances that ask, each before its candidate\'s scores, with those scores; a released candidate keeps none', { timeout: 60_000 }, async () => {
    const host = await InferenceHost.start({ bundle: TINY, provider: 'cpu', threads: 1, maxBatch: 4 }, () => {});
    const previews = new WorkerPreviews();
    const bus = new MemoryScoreBus();
    const rt = new WorkerRuntime({ id: 'w1', backend: new OnnxBackend(host, previews), bus, previews });
    const seen: string[] = [];
    const got: PreviewMessage[] = [];
    bus.subscribe((s) => seen.push(`score ${s.job}/${s.candidate}@${s.step}`));
    bus.onPreview((p) => {
      got.push(p);
      seen.push(`preview ${p.job}/${p.candidate}@${p.step}`);
    });
    try {
      expect(rt.info.previews).toBe(true);
      const take = (job: string): Promise<void> => rt.take(job, [0, 1].map((c) => ({ prompt: 0, candidate: c, seed: 7 + c, text: PROMPT })));
      await take('asks');
      await take('plain');
      const rewards = [{ name: 'align', noiseAware: false }];
      rt.advance('asks', 2, [{ prompt: 0, candidate: 0 }, { prompt: 0, candidate: 1 }], rewards, true);
      rt.advance('plain', 2, [{ prompt: 0, candidate: 0 }, { prompt: 0, candidate: 1 }], rewards);
      await rt.idle();
      await bus.flush();
      await new Promise((r) => setTimeout(r, 200)); // the thumbnails are encoded off the batch
      expect(seen.filter((s) => s.includes('plain/'))).toEqual(['score plain/0@2', 'score plain/1@2']);
      for (const c of [0, 1]) expect(seen.indexOf(`preview asks/${c}@2`)).toBeLessThan(seen.indexOf(`score asks/${c}@2`));
      expect(got.map((p) => [p.job, p.prompt, p.candidate, p.step, p.worker])).toEqual([['asks', 0, 0, 2, 'w1'], ['asks', 0, 1, 2, 'w1']]);
      const img = decodePng((got[0] as PreviewMessage).png);
      // the tiny bundle's 32 px image travels at its own size (the sheet enlarges it)
      expect([img.width, img.height]).toEqual([host.info.image.width, host.info.image.height]);
      expect(Number.isFinite(got[0]?.scores.align)).toBe(true);
      const key = candidateKey('asks', { prompt: 0, candidate: 0 });
      rt.advance('asks', 3, [{ prompt: 0, candidate: 0 }], rewards, true);
      expect(previews.wants(key)).toBe(true);
      rt.release('asks');
      expect(previews.wants(key)).toBe(false);
    } finally {
      await rt.close();
    }
  });
});
