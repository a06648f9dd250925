import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseScheduleFile } from '../../core/engine/schedule-file.js';
import { formatNpy, parseNpy } from '../../core/trace/npy.js';
import { parseManifest } from '../../worker/onnx/manifest.js';
import { fuzz, nearly } from './harness.js';

/** Valid .npy files of small random shapes, then damaged: bytes overwritten, truncated, or extended. */
const npyBytes = fc
  .tuple(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 }), fc.array(fc.tuple(fc.nat(200), fc.nat(255)), { maxLength: 4 }), fc.integer({ min: -40, max: 8 }))
  .map(([shape, patches, cut]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const buf = formatNpy({ shape, data: new Float32Array(count).fill(0.5) });
    for (const [at, byte] of patches) if (at < buf.length) buf[at] = byte;
    return cut < 0 ? buf.subarray(0, Math.max(0, buf.length + cut)) : Buffer.concat([buf, Buffer.alloc(cut)]);
  });

/** Hand-made headers: every descr, order, and shape text a writer might produce. */
const npyHeaders = fc
  .tuple(fc.constantFrom('<f4', '>f4', '<f8', '|u1', '', "<f4'"), fc.constantFrom('True', 'False', 'maybe'), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('3,', '2, 3', '-1, 2', '1e3,', '99999999999, 99999999999', '')), fc.constantFrom(1, 2, 3, 4), fc.oneof(fc.constantFrom(0, 4, 24), fc.nat(64)))
  .map(([descr, order, shape, major, dataBytes]) => {
    const header = `{'descr': '${descr}', 'fortran_order': ${order}, 'shape': (${shape}), }\n`;
    const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
    const len = Buffer.alloc(major === 1 ? 2 : 4);
    if (major === 1) len.writeUInt16LE(header.length);
    else len.writeUInt32LE(header.length);
    return Buffer.concat([pre, len, Buffer.from(header, 'latin1'), Buffer.alloc(dataBytes)]);
  });

const manifest = JSON.parse(readFileSync(new URL('../../models/tiny/ttsnap.json', import.meta.url), 'utf8')) as unknown;

const scheduleFile = {
  format: 'ttsnap-schedule/1',
  steps: 28,
  schedule: [
    { step: 5, alpha: 0.5 },
    { step: 12, alpha: 0.5 },
  ],
  per_budget: [{ budget: 100, schedule: [{ step: 8, alpha: 0.25 }] }],
  tuned: { by: 'fuzz' },
};

describe('fuzz: files read from users', () => {
  it('the .npy reader accepts or refuses damaged files and odd headers, never crashes', () => {
    fuzz('npy (damaged files)', npyBytes, (buf) => parseNpy(buf, 'fuzz.npy'));
    fuzz('npy (headers)', npyHeaders, (buf) => parseNpy(buf, 'fuzz.npy'));
    fuzz('npy (random bytes)', fc.uint8Array({ maxLength: 200 }), (bytes) => parseNpy(Buffer.from(bytes), 'fuzz.npy'));
  });

  it('the bundle manifest parser accepts or refuses near-valid manifests', () => {
    fuzz('bundle manifest', nearly(manifest), (doc) => parseManifest(doc, 'fuzz/ttsnap.json'));
  });

  it('the schedule file reader accepts or refuses near-valid schedule files', () => {
    fuzz('schedule file', fc.tuple(nearly(scheduleFile), fc.constantFrom(28, 20, 2)), ([doc, steps]) => parseScheduleFile(doc, 'fuzz.json', steps));
  });
});
