import { describe, expect, it } from 'vitest';
import { formatNpy, parseNpy } from '../../../core/trace/npy.js';
import { BadFileError } from '../../../core/errors.js';

const array = { shape: [2, 3, 2], data: Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 1) };

function withHeader(header: string, dataBytes: number): Buffer {
  const prefix = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.alloc(dataBytes)]);
}

describe('npy', () => {
  it('round-trips a float32 array, header aligned to 64 bytes', () => {
    const buf = formatNpy(array);
    expect((10 + buf.readUInt16LE(8)) % 64).toBe(0);
    const back = parseNpy(buf, 'x.npy');
    expect(back.shape).toEqual([2, 3, 2]);
    expect([...back.data]).toEqual([...array.data]);
  });
  it('reads the data even when it starts at an odd offset of a larger buffer', () => {
    const buf = formatNpy(array);
    const big = Buffer.alloc(buf.length + 1);
    buf.copy(big, 1);
    expect([...parseNpy(big.subarray(1), 'x.npy').data]).toEqual([...array.data]);
  });
  it('writes 1-D shapes as (n,)', () => {
    const buf = formatNpy({ shape: [3], data: new Float32Array(3) });
    expect(buf.toString('latin1')).toContain("'shape': (3,)");
    expect(parseNpy(buf, 'x.npy').shape).toEqual([3]);
  });
  it('rejects bad magic, dtype, order, truncation and size mismatches with the file name', () => {
    const good = formatNpy(array);
    const bad = Buffer.from(good);
    bad[1] = 0x41;
    expect(() => parseNpy(bad, 'a.npy')).toThrow('a.npy: not a .npy file (bad magic)');
    expect(() => parseNpy(Buffer.from('hello'), 'a.npy')).toThrow(BadFileError);
    expect(() => parseNpy(withHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16), 'd.npy')).toThrow(
      "d.npy: dtype '<f8' is not supported; expected little-endian float32 '<f4'",
    );
    expect(() => parseNpy(withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }\n", 8), 'f.npy')).toThrow('Fortran-order');
    expect(() => parseNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n", 4), 's.npy')).toThrow(
      's.npy: holds 4 data bytes; shape (2) needs 8',
    );
    expect(() => parseNpy(good.subarray(0, 40), 't.npy')).toThrow('t.npy: truncated .npy header');
    expect(() => parseNpy(withHeader('{}\n', 0), 'h.npy')).toThrow('h.npy: unreadable .npy header');
  });
});
