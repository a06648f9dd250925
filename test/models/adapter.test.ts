import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHalf, fromHalfArray, toHalf, toHalfArray } from '../../worker/onnx/float16.js';
import { AdaptedSession } from '../../worker/onnx/session.js';

/**
 * Synthetic ONNX models exercise what real exports disagree on (DESIGN §5): float16 tensors, a scalar int32
 * timestep, int32 input ids, an int64 [1] timestep and a float [batch] one.
 */
const Model = protobuf.loadSync(join(import.meta.dirname, '..', '..', 'worker', 'onnx', 'onnx.proto')).lookupType('onnx.ModelProto');
const dir = mkdtempSync(join(tmpdir(), 'ttsnap-adapter-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;
const FLOAT16 = 10;
const info = (name: string, elemType: number, dims: (number | string)[]) => ({
  name,
  type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
});
const cast = (input: string, output: string, to: number) => ({ opType: 'Cast', name: output, input: [input], output: [output], attribute: [{ name: 'to', i: to, type: 2 }] });

function write(name: string, graph: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, Model.encode(Model.fromObject({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name, ...graph } })).finish());
  return file;
}

const opts = { provider: 'cpu' as const, threads: 1, log: () => undefined };

describe('float16 conversion', () => {
  it('rounds to nearest even, saturates to infinity, keeps subnormals', () => {
    expect(toHalf(0.1)).toBe(0x2e66);
    expect(fromHalf(0x2e66)).toBe(0.0999755859375);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(1e5)).toBe(0x7c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(2 ** -24)).toBe(1);
    expect(fromHalf(1)).toBe(2 ** -24);
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1)
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00);
    expect(Array.from(fromHalfArray(toHalfArray(Float32Array.from([0.5, -1.25, 3]))))).toEqual([0.5, -1.25, 3]);
  });
});

describe('session adapter', () => {
  it('float16 sample, scalar int32 timestep, int32 input ids', async () => {
    const file = write('half.onnx', {
      input: [info('sample', FLOAT16, ['batch', 2]), info('timestep', INT32, []), info('input_ids', INT32, ['batch', 3])],
      output: [info('y', FLOAT, ['batch', 2]), info('ids', FLOAT, ['batch', 3])],
      node: [cast('timestep', 't16', FLOAT16), { opType: 'Add', name: 'add', input: ['sample', 't16'], output: ['y16'] }, cast('y16', 'y', FLOAT), cast('input_ids', 'ids', FLOAT)],
    });
    const s = await AdaptedSession.open(file, 'test model', ['sample', 'timestep', 'input_ids'], ['y', 'ids'], opts);
    expect(s.inputType('sample')).toBe('float16');
    const [y, ids] = await s.run(
      {
        sample: { kind: 'float', data: Float32Array.from([0.5, -1.25, 3, 0.125]), dims: [2, 2] },
        timestep: { kind: 'timestep', values: Float64Array.of(7.9, 7.9) },
        input_ids: { kind: 'ids', data: Int32Array.from([2, 5, 3, 2, 9, 3]), dims: [2, 3] },
      },
      ['y', 'ids'],
    );
    // the timestep is truncated to 7 (numpy astype); every value is exact in float16
    expect(Array.from(y?.data ?? [])).toEqual([7.5, 5.75, 10, 7.125]);
    expect(y?.dims).toEqual([2, 2]);
    expect(Array.from(ids?.data ?? [])).toEqual([2, 5, 3, 2, 9, 3]);
    await s.close();
  });

  it('int64 [1] and float [batch] timesteps', async () => {
    const file = write('ts.onnx', {
      input: [info('ta', INT64, [1]), info('tb', FLOAT, ['batch'])],
      output: [info('a', FLOAT, [1]), info('b', FLOAT, ['batch'])],
      node: [cast('ta', 'a', FLOAT), { opType: 'Identity', name: 'b', input: ['tb'], output: ['b'] }],
    });
    const s = await AdaptedSession.open(file, 'test model', ['ta', 'tb'], ['a', 'b'], opts);
    const [a, b] = await s.run({ ta: { kind: 'timestep', values: new Float64Array(3).fill(951) }, tb: { kind: 'timestep', values: new Float64Array(3).fill(857.5) } }, ['a', 'b']);
    expect(Array.from(a?.data ?? [])).toEqual([951]);
    expect(Array.from(b?.data ?? [])).toEqual([857.5, 857.5, 857.5]);
    await s.close();
  });

  it('names the file and the expected inputs when they differ', async () => {
    const file = write('names.onnx', { input: [info('x', FLOAT, [1])], output: [info('y', FLOAT, [1])], node: [{ opType: 'Identity', name: 'i', input: ['x'], output: ['y'] }] });
    await expect(AdaptedSession.open(file, 'UNet', ['sample', 'timestep', 'encoder_hidden_states'], ['out_sample'], opts)).rejects.toThrow(
      `${file}: the UNet has inputs [x], expected [sample, timestep, encoder_hidden_states]`,
    );
  });
});
