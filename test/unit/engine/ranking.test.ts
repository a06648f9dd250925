import { describe, expect, it } from 'vitest';
import { bestPosition, combinedScores, markBest, negatedRankSum, orderBest, rankScratch, selectBest, takeBestRanks } from '../../../core/engine/ranking.js';

function top(scores: number[], ids: number[], k: number): number[] {
  const out = new Int32Array(k);
  selectBest(scores, ids, scores.length, k, out);
  return [...out.slice(0, Math.min(k, scores.length))];
}

/** markBest marks exactly the set that selectBest picks for the k best. */
function expectMarkAsSelect(scores: number[], ids: number[], k: number): void {
  const n = scores.length;
  const mask = new Uint8Array(n);
  markBest(scores, ids, n, k, mask, new Int32Array(n));
  const out = new Int32Array(k);
  selectBest(scores, ids, n, k, out);
  const expected = new Uint8Array(n);
  for (const p of out) expected[p] = 1;
  expect([...mask]).toEqual([...expected]);
}

describe('selectBest / orderBest', () => {
  it('puts higher scores first', () => {
    expect(top([0.1, 0.9, 0.5, 0.7], [0, 1, 2, 3], 2)).toEqual([1, 3]);
    expect([...orderBest([0.1, 0.9, 0.5, 0.7], [0, 1, 2, 3], 4)]).toEqual([1, 3, 2, 0]);
  });
  it('breaks ties to the lower candidate id, not the lower position', () => {
    // positions 0, 2, 3 tie at 3 with ids 7, 2, 9 -> ids 2, 7, 9 -> positions 2, 0, 3
    expect([...orderBest([3, 1, 3, 3], [7, 4, 2, 9], 4)]).toEqual([2, 0, 3, 1]);
    expect(top([3, 1, 3, 3], [7, 4, 2, 9], 2)).toEqual([2, 0]);
    expect(top([1, 3, 3, 2], [0, 1, 2, 3], 1)).toEqual([1]);
  });
  it('takes at most n', () => {
    expect(top([5, 4], [0, 1], 5)).toEqual([0, 1]);
  });
});

describe('rank-sum', () => {
  it('sums ranks (1 = best) under each reward and returns them negated', () => {
    // A ranks ids 0,2,1 -> 1,3,2; B = [0.1, 0.8, 0.9] ranks ids 2,1,0 -> 3,2,1. Sums 4, 5, 3.
    const sums = negatedRankSum([[0.9, 0.5, 0.7], [0.1, 0.8, 0.9]], [0, 1, 2], 3);
    expect([...sums]).toEqual([-4, -5, -3]);
    const combined = combinedScores([[0.9, 0.5, 0.7], [0.1, 0.8, 0.9]], [0, 1, 2], 3);
    expect(top([...(combined as Float64Array)], [0, 1, 2], 3)).toEqual([2, 0, 1]);
  });
  it('breaks rank-sum ties to the lower id', () => {
    // A = [1, 2], B = [2, 1]: each candidate has rank-sum 3; ids [5, 3] -> id 3 (position 1) wins.
    const combined = combinedScores([[1, 2], [2, 1]], [5, 3], 2);
    expect([...(combined as Float64Array)]).toEqual([-3, -3]);
    expect(top([...(combined as Float64Array)], [5, 3], 1)).toEqual([1]);
  });
  it('ranks ties inside one reward by id before summing', () => {
    // A = [1, 1, 0] ranks ids 0, 1, 2 -> 1, 2, 3; B = [0, 1, 1] ranks ids 1, 2, 0 -> 3, 1, 2. Sums 4, 3, 5.
    expect([...negatedRankSum([[1, 1, 0], [0, 1, 1]], [0, 1, 2], 3)]).toEqual([-4, -3, -5]);
  });
  it('with one reward, the reward itself is the score', () => {
    const s = [0.3, 0.2];
    expect(combinedScores([s], [0, 1], 2)).toBe(s);
    expect(() => combinedScores([], [0], 1)).toThrow('at least one reward');
  });
});

describe('markBest', () => {
  it('marks exactly the set selectBest picks, ties included, for every k', async () => {
    const { Rng } = await import('../../../core/engine/rng.js');
    const rng = new Rng(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.below(80);
      // few distinct values so that ties are common; ids shuffled so position order is not id order
      const scores = Array.from({ length: n }, () => rng.below(6));
      const ids = Array.from({ length: n }, (_, i) => (i * 37) % 101);
      expectMarkAsSelect(scores, ids, 1 + rng.below(n));
    }
  });
  it('marks all when k >= n and the single best when k = 1', () => {
    const mask = new Uint8Array(3);
    markBest([1, 2, 3], [0, 1, 2], 3, 3, mask, new Int32Array(3));
    expect([...mask]).toEqual([1, 1, 1]);
    markBest([1, 3, 3], [0, 1, 2], 3, 1, mask, new Int32Array(3));
    expect([...mask]).toEqual([0, 1, 0]);
    expect(bestPosition([1, 3, 3], [0, 2, 1], 3)).toBe(2);
  });
});

describe('takeBestRanks', () => {
  it('keeps the k lowest ranks, best first, looking ranks up by id at an offset', () => {
    // ranks of ids 0..5 at offset 3: id0 4, id1 0, id2 5, id3 2, id4 1, id5 3
    const table = [9, 9, 9, 4, 0, 5, 2, 1, 3];
    const ids = Int32Array.from([5, 0, 3, 2, 4]);
    takeBestRanks(table, 3, ids, 5, 3, rankScratch(6));
    expect([...ids.slice(0, 3)]).toEqual([4, 3, 5]);
  });
  it('keeps the set markBest keeps on the scores those ranks come from, across bitset words', async () => {
    const { Rng } = await import('../../../core/engine/rng.js');
    const rng = new Rng(3);
    const limit = 150;
    const scratch = rankScratch(limit);
    for (let trial = 0; trial < 100; trial++) {
      const scores = Array.from({ length: limit }, () => rng.below(20)); // ties across ids
      const order = orderBest(scores, [...Array(limit).keys()], limit);
      const rankById = new Array<number>(limit);
      order.forEach((pos, r) => (rankById[pos] = r));
      const n = 1 + rng.below(limit);
      const ids = Int32Array.from([...Array(limit).keys()].filter(() => rng.below(limit) < n).slice(0, Math.max(1, n)));
      const m = ids.length;
      const k = 1 + rng.below(m);
      const mask = new Uint8Array(m);
      markBest(ids.map((id) => scores[id] as number), ids, m, k, mask, new Int32Array(m));
      const expected = [...ids].filter((_, j) => mask[j]).sort((a, b) => a - b);
      takeBestRanks(rankById, 0, ids, m, k, scratch);
      expect([...ids.slice(0, k)].sort((a, b) => a - b)).toEqual(expected);
      expect(scratch.words.every((w) => w === 0)).toBe(true);
    }
  });
});

describe('non-finite scores', () => {
  const NaN_ = Number.NaN;
  const Inf = Number.POSITIVE_INFINITY;
  it('rank below every finite score, all equal to each other, ties to the lower id', () => {
    // ids 0..5: finite 0.2, -5, 0.9; non-finite NaN (id 1), +Inf (id 3), -Inf (id 5)
    const scores = [0.2, NaN_, -5, Inf, 0.9, -Inf];
    const ids = [0, 1, 2, 3, 4, 5];
    expect([...orderBest(scores, ids, 6)]).toEqual([4, 0, 2, 1, 3, 5]);
    expect(bestPosition(scores, ids, 6)).toBe(4);
    expect(bestPosition([NaN_, Inf, -Inf], [9, 4, 7], 3)).toBe(1); // all worst: the lowest id wins
    expect(top(scores, ids, 3)).toEqual([4, 0, 2]);
    expect(top([-1e308, Inf], [1, 0], 1)).toEqual([0]); // even the lowest finite beats +Inf
  });
  it('keeping 3 of 10 with a NaN drops the NaN; markBest agrees, quickselect path included', () => {
    const scores = [0.5, NaN_, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.05, 0.01];
    const ids = scores.map((_, i) => i);
    expect(top(scores, ids, 3)).toEqual([7, 6, 0]);
    const n = 40; // above the small-case cut-off, so markBest partitions
    const big = Array.from({ length: n }, (_, i) => (i % 7 === 0 ? [NaN_, Inf, -Inf][i % 3]! : (i * 13) % 17));
    const bigIds = big.map((_, i) => (i * 11) % 41);
    for (const k of [1, 5, 20, 33, 39]) expectMarkAsSelect(big, bigIds, k);
  });
  it('rank-sum ranks a non-finite score last under its reward', () => {
    // A = [NaN, 1, 2] ranks ids 2,1,0 -> 3,2,1; B = [3, 2, 1] ranks 1,2,3. Sums 4, 4, 4 -> id 0 first.
    expect([...negatedRankSum([[NaN_, 1, 2], [3, 2, 1]], [0, 1, 2], 3)]).toEqual([-4, -4, -4]);
    // A = [Inf, 1, 2] ranks ids 2,1,0 -> 3,2,1; B = [1, 2, 3] ranks 3,2,1. Sums 6, 4, 2.
    expect([...negatedRankSum([[Inf, 1, 2], [1, 2, 3]], [0, 1, 2], 3)]).toEqual([-6, -4, -2]);
  });
});
