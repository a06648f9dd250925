import { readFileSync, writeFileSync } from 'node:fs';
import { BadFileError } from '../errors.js';

/** A C-order float32 array read from or written to a NumPy .npy file. */
export interface NpyArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** Parses a .npy buffer; accepts little-endian float32 in C order (the traces' format) and says why otherwise. */
export function parseNpy(buf: Buffer, file: string): NpyArray {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new BadFileError(file, "not a .npy file (bad magic); expected NumPy's '\\x93NUMPY' header");
  const major = buf[6] as number;
  const headerLenBytes = major === 1 ? 2 : 4;
  if (![1, 2, 3].includes(major)) throw new BadFileError(file, `unsupported .npy version ${major}`);
  const headerLen = headerLenBytes === 2 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = 8 + headerLenBytes;
  if (buf.length < start + headerLen) throw new BadFileError(file, 'truncated .npy header');
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new BadFileError(file, 'unreadable .npy header');
  if (descr !== '<f4') throw new BadFileError(file, `dtype '${descr}' is not supported; expected little-endian float32 '<f4'`);
  if (fortran === 'True') throw new BadFileError(file, 'Fortran-order arrays are not supported; expected C order');
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new BadFileError(file, `bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (buf.length - dataStart !== count * 4) {
    throw new BadFileError(file, `holds ${buf.length - dataStart} data bytes; shape (${shape.join(', ')}) needs ${count * 4}`);
  }
  // Copy into an aligned buffer: the data offset need not be a multiple of 4 inside the file buffer.
  // Shared memory, so that worker threads (simulate over several traces) read it without a copy.
  const data = new Float32Array(new SharedArrayBuffer(count * 4));
  Buffer.from(data.buffer).set(buf.subarray(dataStart));
  return { shape, data };
}

export function readNpy(file: string): NpyArray {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new BadFileError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)}); expected a readable .npy file`, { cause: err });
  }
  return parseNpy(buf, file);
}

/** Serialises a float32 C-order array as .npy version 1.0 (header padded to a multiple of 64 bytes). */
export function formatNpy(array: NpyArray): Buffer {
  return Buffer.concat([npyHeader(array.shape), Buffer.from(array.data.buffer, array.data.byteOffset, array.data.byteLength)]);
}

/** The header formatNpy writes before the data of a float32 array of this shape (for files written in pieces). */
export function npyHeader(dims: readonly number[]): Buffer {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const prefix = Buffer.alloc(10);
  MAGIC.copy(prefix, 0);
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1')]);
}

export function writeNpy(file: string, array: NpyArray): void {
  writeFileSync(file, formatNpy(array));
}
