import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { compileOnnxOptions, defaultOrtCache } from '../../worker/backends/onnx.js';
import { ABANDONED_AFTER_MS, cacheEntry, sweepAbandoned } from '../../worker/onnx/optimised-cache.js';
import { OnnxPipeline } from '../../worker/onnx/pipeline.js';
import { DEFAULT_RUNTIME, optimisationContext, ortSessionOptions } from '../../worker/onnx/runtime-options.js';
import { decodeState } from '../../worker/onnx/state.js';
import { TINY } from './helpers.js';

describe('onnxruntime session options', () => {
  it('are built per provider: level, threads, the device id of the GPU providers, TensorRT with CUDA behind it', () => {
    const rt = { ...DEFAULT_RUNTIME, deviceId: 1, graphOptimization: 'extended' as const };
    expect(ortSessionOptions('cpu', 2, DEFAULT_RUNTIME)).toEqual({ executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 2, interOpNumThreads: 1 });
    expect(ortSessionOptions('cuda', 0, rt)).toEqual({ executionProviders: [{ name: 'cuda', deviceId: 1 }], graphOptimizationLevel: 'extended' });
    expect(ortSessionOptions('tensorrt', 0, rt).executionProviders).toEqual([
      { name: 'tensorrt', deviceId: 1 },
      { name: 'cuda', deviceId: 1 },
    ]);
    expect(optimisationContext('cpu', DEFAULT_RUNTIME)).toMatch(new RegExp(`^onnxruntime ${ort.env.versions.node} \\| cpu \\| .+ \\| all$`));
    expect(optimisationContext('cuda', rt)).toBe(`onnxruntime ${ort.env.versions.node} | cuda | device 1 | extended`);
  });

  it('come from the worker flags, each bad value refused naming its flag', () => {
    const o = compileOnnxOptions({ provider: 'tensorrt', graphOptimization: 'basic', ortCache: '/x/cache', deviceId: '3', tf32: 'off' });
    expect([o.provider, o.runtime]).toEqual(['tensorrt', { graphOptimization: 'basic', cacheDir: '/x/cache', deviceId: 3, tf32: false }]);
    expect(compileOnnxOptions({}).runtime).toEqual({ graphOptimization: 'all', cacheDir: defaultOrtCache(), deviceId: 0, tf32: true });
    expect(compileOnnxOptions({ ortCache: 'off' }).runtime?.cacheDir).toBeNull();
    expect(() => compileOnnxOptions({ graphOptimization: 'max' })).toThrow("--graph-optimization: got 'max'; allowed: disabled | basic | extended | all");
    expect(() => compileOnnxOptions({ tf32: 'yes' })).toThrow("--tf32: got 'yes'; allowed: on | off");
    expect(() => compileOnnxOptions({ deviceId: '-1' })).toThrow(/--device-id/);
    expect(() => compileOnnxOptions({ provider: 'rocm' })).toThrow("--provider: got 'rocm'; allowed: auto | cpu | cuda | tensorrt");
  });
});

describe('the optimised-model cache', () => {
  const root = mkdtempSync(join(tmpdir(), 'ttsnap-ortcache-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const cacheDir = join(root, 'cache');
  const load = async (cache: string | null): Promise<{ latent: number[]; logs: string[] }> => {
    const logs: string[] = [];
    const p = await OnnxPipeline.load({ bundle: TINY, provider: 'cpu', threads: 1, maxBatch: 4, runtime: { ...DEFAULT_RUNTIME, cacheDir: cache } }, (l) => logs.push(l));
    try {
      await p.create([{ key: 'k', prompt: 0, text: 'a red circle', candidate: 0, seed: 5 }]);
      await p.advance([{ key: 'k', toStep: 3 }]);
      return { latent: Array.from(decodeState(p.exportState('k'), p.bundle.manifest.name).latent), logs };
    } finally {
      await p.close();
    }
  };

  it('the first start writes one entry per graph, later starts load them unchanged, and the results are those of the uncached graphs', { timeout: 60_000 }, async () => {
    const plain = await load(null);
    const first = await load(cacheDir);
    const graphs = 1 + 1 + 1 + 2 * 4; // text encoder, UNet, VAE decoder, two rewards with three variants each
    expect(first.logs.filter((l) => l.startsWith('onnx: optimised '))).toHaveLength(graphs);
    const entries = readdirSync(cacheDir);
    expect(entries).toHaveLength(graphs);
    for (const e of entries) expect(readdirSync(join(cacheDir, e)).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    const unet = join(cacheEntry(join(TINY, 'unet', 'model.onnx'), 'cpu', { ...DEFAULT_RUNTIME, cacheDir }), 'model.onnx');
    const written = statSync(unet).mtimeMs;
    const second = await load(cacheDir);
    expect(second.logs.filter((l) => l.startsWith('onnx: optimised '))).toEqual([]);
    expect(statSync(unet).mtimeMs).toBe(written);
    expect(first.latent).toEqual(plain.latent);
    expect(second.latent).toEqual(plain.latent);
  });

  it('keys differ by graph, provider, device and level; a broken entry is said and rebuilt', { timeout: 60_000 }, async () => {
    const unetFile = join(TINY, 'unet', 'model.onnx');
    const rt = { ...DEFAULT_RUNTIME, cacheDir };
    const keys = new Set([cacheEntry(unetFile, 'cpu', rt), cacheEntry(join(TINY, 'vae_decoder', 'model.onnx'), 'cpu', rt), cacheEntry(unetFile, 'cuda', rt), cacheEntry(unetFile, 'cuda', { ...rt, deviceId: 1 }), cacheEntry(unetFile, 'cpu', { ...rt, graphOptimization: 'basic' })]);
    expect(keys.size).toBe(5);
    writeFileSync(join(cacheEntry(unetFile, 'cpu', rt), 'model.onnx'), 'not onnx');
    const again = await load(cacheDir);
    expect(again.logs.find((l) => l.includes('does not load'))).toContain(`for ${unetFile} does not load`);
    expect(again.logs.filter((l) => l.startsWith('onnx: optimised '))).toEqual([`onnx: optimised ${unetFile} and cached it in ${cacheEntry(unetFile, 'cpu', rt)}`]);
    expect(again.latent).toEqual((await load(null)).latent);
  });
});

describe("the cache's private folders", () => {
  it("of this host's dead starts, and anyone's untouched for a day, are removed; the rest stay", () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-ortsweep-'));
    try {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
      const names = {
        deadHere: `.writing-${hostname()}-${dead}-a1b2c3`,
        liveHere: `.writing-${hostname()}-${process.pid}-d4e5f6`,
        elsewhere: '.writing-pod-7-1-g7h8i9',
        staleElsewhere: '.writing-pod-7-1-j1k2l3',
        entry: '0123456789abcdef',
      };
      for (const n of Object.values(names)) {
        mkdirSync(join(dir, n));
        writeFileSync(join(dir, n, 'model.onnx'), 'partial');
      }
      const old = (Date.now() - ABANDONED_AFTER_MS - 60_000) / 1000;
      utimesSync(join(dir, names.staleElsewhere), old, old);
      const logs: string[] = [];
      sweepAbandoned(dir, (l) => logs.push(l));
      expect(readdirSync(dir).sort()).toEqual([names.elsewhere, names.liveHere, names.entry].sort());
      expect(logs.sort()).toEqual([
        `onnx: removed ${join(dir, names.deadHere)}, left by a start that died (pid ${dead}) while caching an optimised graph`,
        `onnx: removed ${join(dir, names.staleElsewhere)}, left by a start that has not written for a day while caching an optimised graph`,
      ].sort());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
