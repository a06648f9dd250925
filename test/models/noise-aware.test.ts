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
  let cleanup: () => void;
  beforeAll(async () => {
    const t = copyTiny();
    cleanup = t.cleanup;
    writeFileSync(join(t.dir, 'rewards', 'align', 'step_02.onnx'), constantReward(42));
    ({ backend } = await tinyBackend({ bundle: t.dir }));
  });
  afterAll(async () => {
    await backend.close();
    cleanup();
  });

  it('the variant for the step when noiseAware and the bundle has one; the base model otherwise', async () => {
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
    // no variant for step 3: noise-aware scoring falls back to the base model
    const [atThree, baseThree] = await backend.score(keys, [
      { name: 'align', noiseAware: true },
      { name: 'align', noiseAware: false },
    ]);
    expect(Array.from(atThree ?? [])).toEqual(Array.from(baseThree ?? []));
    expect(Array.from(atThree ?? []).some((v) => v === 42)).toBe(false);
  });
});
