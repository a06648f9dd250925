// --save-tweedie's pieces: images cut into chunks below the message caps, and the collect folder writing them at
// their places into the same .npy the whole array would make, whatever order (and how often) they come in.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tweedieChunkFromProto, tweedieChunks, tweedieChunkToProto, type TweedieChunk } from '../../core/contract/collect.js';
import { formatNpy } from '../../core/trace/npy.js';
import type { CollectSpec } from '../../process/collect/spec.js';
import { CollectStore } from '../../process/collect/store.js';

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-tweedie-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const I = 3;
const PER = 10;
const spec = (saveTweedie: number[]): CollectSpec => ({
  texts: ['a red circle'], promptIds: [0], candidates: I, seed: 7, rewards: ['align'], steps: 4, variantSteps: { align: [] },
  saveTweedie, pool: 0, cost: { denoise: 1, verify: 1 }, source: { name: 'tiny', fingerprint: 'f' },
});
/** image (candidate c, saved step k) holds 100 c + 10 k + its index */
const images = (slot: number): Float32Array => Float32Array.from({ length: I * PER }, (_, i) => 100 * Math.floor(i / PER) + 10 * slot + (i % PER));

describe('Tweedie chunks', () => {
  it('cut each image of a batch into pieces of at most maxValues, and survive the wire', () => {
    const chunks = [...tweedieChunks(images(1), I, 1, 4)];
    expect(chunks.map((c) => [c.candidate, c.offset, c.data.length])).toEqual([[0, 0, 4], [0, 4, 4], [0, 8, 2], [1, 0, 4], [1, 4, 4], [1, 8, 2], [2, 0, 4], [2, 4, 4], [2, 8, 2]]);
    const wire = tweedieChunkToProto(chunks[4] as TweedieChunk);
    const back = tweedieChunkFromProto({ candidate: wire.candidate ?? 0, slot: wire.slot ?? 0, offset: wire.offset ?? 0, image_values: wire.image_values ?? 0, data: Buffer.from(wire.data as Buffer) });
    expect(back).toMatchObject({ candidate: 1, slot: 1, offset: 4, imageValues: PER });
    expect(Array.from(back.data)).toEqual([114, 115, 116, 117]);
  });

  it('a piece off the wire must be whole float32 values inside its image', () => {
    expect(() => tweedieChunkFromProto({ candidate: 0, slot: 0, offset: 0, image_values: 10, data: Buffer.alloc(6) })).toThrow(/^tweedie\.data: 6 bytes; allowed: whole float32 values$/);
    expect(() => tweedieChunkFromProto({ candidate: 0, slot: 0, offset: 8, image_values: 10, data: Buffer.alloc(12) })).toThrow(/^tweedie\.offset: values 8\.\.11 of an image of 10; allowed: a piece inside the image$/);
  });

  it('the store writes pieces in any order, twice or once, into the bytes of the whole array', () => {
    const out = join(dir, 'shuffled');
    const store = CollectStore.open(out, spec([1, 3]));
    const chunks = [0, 1].flatMap((slot) => [...tweedieChunks(images(slot), I, slot, 4)]).reverse();
    chunks.forEach((c) => store.writeTweedie(0, c));
    store.writeTweedie(0, chunks[3] as TweedieChunk); // a batch sent again after its worker was lost
    store.writePrompt(0, new Float32Array(2 * I * 4));
    const whole = new Float32Array(I * 2 * PER);
    for (let c = 0; c < I; c++) for (const slot of [0, 1]) whole.set(images(slot).subarray(c * PER, (c + 1) * PER), (c * 2 + slot) * PER);
    expect(readFileSync(join(out, 'tweedie', 'p00000.npy')).equals(formatNpy({ shape: [I, 2, PER], data: whole }))).toBe(true);
    expect(store.done()).toEqual(new Set([0]));
  });

  it('a prompt with a missing piece is not done, and its partial file goes when the run ends', () => {
    const out = join(dir, 'missing');
    const store = CollectStore.open(out, spec([1, 3]));
    const chunks = [0, 1].flatMap((slot) => [...tweedieChunks(images(slot), I, slot, 4)]);
    chunks.slice(1).forEach((c) => store.writeTweedie(0, c));
    expect(() => store.writePrompt(0, new Float32Array(2 * I * 4))).toThrow(/^prompt 0 is done but Tweedie image 0 \(candidate x saved step\) has not come whole$/);
    expect(store.done()).toEqual(new Set());
    store.dropPartial();
    expect(readdirSync(join(out, 'tweedie'))).toEqual([]);
    expect(() => store.writeTweedie(0, { ...(chunks[0] as TweedieChunk), candidate: I })).toThrow(/^a Tweedie piece for candidate 3, saved step 0 of a collection of 3 candidates x 2 saved steps$/);
    expect(existsSync(join(out, 'parts', 'p00000.f32'))).toBe(false);
  });
});
