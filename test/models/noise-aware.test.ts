import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnnxBackend } from '../../worker/backends/onnx.js';
import { copyTiny, spec, tinyBackend } from './helpers.js';

/**
 * Which reward model scores: the bundle's align step_02 variant is replaced by a model whose score is 42 for
 * every image, so a 42 shows the noise-aware variant ran and anything else shows the base model did.
 */
const Model = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'worker', 'onnx', 'onnx.proto')).lookupType('onnx.ModelProto');
const info = (name: string, elemType: number, dims: (number | string)[]) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});
const f32 = (x: number): Uint8Array => new Uint8Array(Float32Array.of(x).buffer);
const i64 = (xs: number[]): Uint8Array => new Uint8Array(BigInt64Array.from(xs.map(BigInt)).buffer);

function constantReward(score: number): Uint8Array {
  return Model.encode(
    Model.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'constant',
        input: [info('pixel_values', 1, ['batch', 3, 32, 32]), info('input_ids', 7, ['batch', 16])],
        output: [info('score', 1, ['batch'])],
        initializer: [{ name: 'start', dims: [1], dataType: 7, rawData: i64([0]) }, { name: 'end', dims: [1], dataType: 7, rawData: i64([1]) }],
        node: [
          { opType: 'Shape', name: 'shape', input: ['pixel_values'], output: ['s'] },
          { opType: 'Slice', name: 'slice', input: ['s', 'start', 'end'], output: ['b'] },
          { opType: 'ConstantOfShape', name: 'fill', input: ['b'], output: ['score'], attribute: [{ name: 'value', t: { dims: [1], dataType: 1, rawData: f32(score) }, type: 4 }] },
        ],
      },
    }),
  ).finish();
}

describe('noise-aware reward variants', () => {
  let backend: OnnxBackend;
  let logs: string[];
  let dir: string;
  let cleanup: () => void;
  beforeAll(async () => {
    const t = copyTiny();
    ({ dir, cleanup } = t);
    writeFileSync(join(t.dir, 'rewards', 'align', 'step_02.onnx'), constantReward(42));
    ({ backend, logs } = await tinyBackend({ bundle: t.dir, missingVariant: 'base' }));
  });
  afterAll(async () => {
    await backend.close();
    cleanup();
  });

  it('a prune point without a variant is refused by default, naming the step and the steps that have one', async () => {
    const { backend: strict } = await tinyBackend({ bundle: dir });
    try {
      await strict.create([spec(0)]);
      for (let s = 0; s <= 3; s++) await strict.advance([{ key: 'p0/c0', toStep: s }]);
      await expect(strict.score(['p0/c0'], [{ name: 'align', noiseAware: true }])).rejects.toThrow(
        "schedule: prunes at step 3, where reward align has no noise-aware variant (variants at steps: 2, 6, 11); allowed: prune points at steps with a variant, policy ttsp (base reward at prune points), or --missing-variant base (scores with the base reward, warned and recorded)",
      );
      // the clean image at the last step is the base reward's, variant or not
      for (let s = 4; s <= 19; s++) await strict.advance([{ key: 'p0/c0', toStep: s }]);
      await expect(strict.score(['p0/c0'], [{ name: 'align', noiseAware: true }])).resolves.toHaveLength(1);
    } finally {
      await strict.close();
    }
  });

  it('--steps remaps the variants by noise level (40 steps: step 2 of 20, timestep 851, is step 5) or is refused (10 steps)', async () => {
    const { backend: remapped } = await tinyBackend({ bundle: dir, steps: 40 });
    try {
      await remapped.create([spec(0)]);
      for (let s = 0; s <= 5; s++) await remapped.advance([{ key: 'p0/c0', toStep: s }]);
      const [at5] = await remapped.score(['p0/c0'], [{ name: 'align', noiseAware: true }]);
      expect(Array.from(at5 ?? [])).toEqual([42]);
    } finally {
      await remapped.close();
    }
    await expect(tinyBackend({ bundle: dir, steps: 10 })).rejects.toThrow(
      "--steps: 10 has no step at the noise level of reward align's noise-aware variant for step 2 of 20 (timestep 851; nearest 901 at step 0)",
    );
  });

  it('the variant for the step when noiseAware and the bundle has one; with --missing-variant base the base model otherwise, warned once', async () => {
    await backend.create([spec(0), spec(1)]);
    const keys = ['p0/c0', 'p0/c1'];
    for (let s = 0; s <= 2; s++) await backend.advance(keys.map((key) => ({ key, toStep: s })));
    const [narf, base] = await backend.score(keys, [
      { name: 'align', noiseAware: true },
      { name: 'align', noiseAware: false },
    ]);
    expect(Array.from(narf ?? [])).toEqual([42, 42]);
    expect(Array.from(base ?? []).some((v) => v === 42)).toBe(false);
    await backend.advance(keys.map((key) => ({ key, toStep: 3 })));
    // no variant for step 3: --missing-variant base scores with the base model
    const [atThree, baseThree] = await backend.score(keys, [
      { name: 'align', noiseAware: true },
      { name: 'align', noiseAware: false },
    ]);
    expect(Array.from(atThree ?? [])).toEqual(Array.from(baseThree ?? []));
    expect(Array.from(atThree ?? []).some((v) => v === 42)).toBe(false);
    await backend.score(keys, [{ name: 'align', noiseAware: true }]);
    expect(logs.filter((l) => l.includes('warning'))).toEqual(['onnx: warning: reward align has no noise-aware variant at step 3; scored with the base reward (--missing-variant base)']);
  });
});
