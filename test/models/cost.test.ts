import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleCost } from '../../worker/onnx/bundle-cost.js';
import { countFlops } from '../../worker/onnx/flops.js';
import { readOnnxGraph } from '../../worker/onnx/graph.js';
import { TINY } from './helpers.js';

const Model = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'worker', 'onnx', 'onnx.proto')).lookupType('onnx.ModelProto');
const dir = mkdtempSync(join(tmpdir(), 'ttsnap-cost-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const i64 = (values: number[]): Uint8Array => {
  const b = new Uint8Array(values.length * 8);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setBigInt64(i * 8, BigInt(x), true));
  return b;
};
const info = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });

/**
 * x [batch, 3, 8, 8] -> Conv(4x3x3x3, pads 1) -> [1, 4, 8, 8] -> Reshape to [B, 4, 64] with a shape computed
 * by Shape -> Gather -> Unsqueeze -> Concat (as PyTorch exports it) -> Transpose [1, 64, 4] -> MatMul (4x5)
 * -> [1, 64, 5].
 */
function syntheticModel(): string {
  const bytes = Model.encode(
    Model.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'g',
        input: [info('x', ['batch', 3, 8, 8])],
        output: [info('y', ['batch', 64, 5])],
        initializer: [
          { name: 'w', dims: [4, 3, 3, 3], dataType: 1 },
          { name: 'm', dims: [4, 5], dataType: 1 },
          { name: 'zero', dims: [], dataType: 7, rawData: i64([0]) },
          { name: 'axes0', dims: [1], dataType: 7, rawData: i64([0]) },
          { name: 'tail', dims: [2], dataType: 7, rawData: i64([4, 64]) },
        ],
        node: [
          { opType: 'Conv', name: 'conv', input: ['x', 'w'], output: ['c'], attribute: [{ name: 'pads', ints: [1, 1, 1, 1], type: 7 }] },
          { opType: 'Shape', name: 'shape', input: ['c'], output: ['s'] },
          { opType: 'Gather', name: 'gather', input: ['s', 'zero'], output: ['b'], attribute: [{ name: 'axis', i: 0, type: 2 }] },
          { opType: 'Unsqueeze', name: 'unsq', input: ['b', 'axes0'], output: ['b1'] },
          { opType: 'Concat', name: 'cat', input: ['b1', 'tail'], output: ['target'], attribute: [{ name: 'axis', i: 0, type: 2 }] },
          { opType: 'Reshape', name: 'reshape', input: ['c', 'target'], output: ['r'] },
          { opType: 'Transpose', name: 'tr', input: ['r'], output: ['t'], attribute: [{ name: 'perm', ints: [0, 2, 1], type: 7 }] },
          { opType: 'MatMul', name: 'mm', input: ['t', 'm'], output: ['y'] },
        ],
      },
    }),
  ).finish();
  const file = join(dir, 'synthetic.onnx');
  writeFileSync(file, bytes);
  return file;
}

describe('FLOPs from ONNX graphs', () => {
  it('counts Conv and MatMul by inferred shapes, folding the shape arithmetic of a Reshape', () => {
    const c = countFlops(readOnnxGraph(syntheticModel()), () => 1);
    // Conv: 2 * (1*4*8*8 outputs) * (3*3*3 per output) = 13824; MatMul: 2 * 64 * 5 * 4 = 2560
    expect(c.byOp).toEqual({ Conv: 13824, MatMul: 2560 });
    expect(c.total).toBe(16384);
    expect(c.uncounted).toEqual([]);
  });

  it('a file that is not ONNX is named', () => {
    const f = join(dir, 'junk.onnx');
    writeFileSync(f, 'not a model at all');
    expect(() => readOnnxGraph(f)).toThrow(new RegExp(`^${f}: (not an ONNX model|has no graph nodes)`));
  });

  it('the tiny bundle: every Conv/MatMul/Gemm shape inferred; denoise = 2 UNet passes; verify = decode + reward', () => {
    const c = bundleCost(TINY);
    for (const m of Object.values(c.models)) expect(m.uncounted).toBe(0);
    expect(c.passes).toBe(2);
    expect(c.denoise).toBeCloseTo(2 * (c.models.unet?.tflops ?? 0), 15);
    expect(c.verify.align).toBeCloseTo((c.models.vae_decoder?.tflops ?? 0) + (c.models['rewards/align']?.tflops ?? 0), 15);
    // the UNet's first conv (4 -> 64 channels, 3x3, 8x8) is part of its Conv count: 2 * 64*8*8 * 4*9
    expect((c.models.unet?.byOp.Conv ?? 0) * 1e12).toBeGreaterThan(2 * 64 * 64 * 36);
  });
});
