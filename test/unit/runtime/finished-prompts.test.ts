import { describe, expect, it } from 'vitest';
import { idSetBytes, packIds, unpackIds } from '../../../coordinator/id-set.js';
import { FinishedPrompts } from '../../../coordinator/finished-prompts.js';
import { ledgerFromProto } from '../../../coordinator/result.js';

describe('finished prompts keep their ids packed', () => {
  it('0..n-1 is one run, a sparse draw a bitset, ids out of order a list; each unpacks to the same ids', () => {
    const all = Array.from({ length: 100 }, (_, i) => i);
    const runs = packIds(all);
    expect(runs).toEqual({ kind: 'runs', runs: Uint32Array.from([0, 100]) });
    expect(unpackIds(runs)).toEqual(all);
    const sparse = [3, 5, 9, 10, 11, 40, 63];
    const bits = packIds(sparse);
    expect(bits.kind).toBe('bits');
    expect(idSetBytes(bits)).toBe(8); // ids 3..63: 61 bits
    expect(unpackIds(bits)).toEqual(sparse);
    const list = packIds([4, 2, 7]);
    expect(list).toEqual({ kind: 'list', ids: Uint32Array.from([4, 2, 7]) });
    expect(unpackIds(list)).toEqual([4, 2, 7]);
    expect(unpackIds(packIds([]))).toEqual([]);
  });

  it('rebuilds each result as it was set, in request order, and counts what it holds', () => {
    const ledger = { candidates: 4, denoise_steps: 10, reward_calls: { pic: 6 }, cost: 16, stages: [{ step: 19, denoise_steps: 10, reward_calls: { pic: 6 }, cost: 16 }] };
    const f = new FinishedPrompts(3);
    const result = (position: number) => ({ prompt: 10 + position, text: 'a cat', position, winner: { candidate: 2, seed: 9, rewards: { pic: 0.5 } }, top_k: [], explored: [0, 1, 2, 3] });
    f.set(2, result(2), ledger);
    f.set(0, result(0), ledger);
    expect(f.has(1)).toBe(false);
    expect(f.results().map((r) => r.position)).toEqual([0, 2]);
    const back = f.result(2);
    expect(back?.explored).toEqual([0, 1, 2, 3]);
    expect(ledgerFromProto(back?.ledger)).toEqual(ledger);
    expect(back?.winner).toEqual({ candidate: 2, seed: 9, rewards: { pic: 0.5 } });
    expect(f.ledgers()).toEqual([ledger, ledger]);
    const one = f.bytes / 2;
    expect(one).toBeGreaterThan(0);
    expect(one).toBeLessThan(1024); // a JS array of 100 ids alone held about that
    f.set(2, result(2), ledger);
    expect(f.bytes).toBe(2 * one); // setting a prompt again replaces it
  });
});
