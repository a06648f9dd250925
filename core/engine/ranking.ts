/**
 * Ranking kernels shared by the coordinator, the simulator and the tuner. They work on positions into
 * parallel arrays (`ids[j]` has score `scores[j]`), so callers can reuse scratch buffers on hot paths.
 * Order: higher score first; equal scores go to the lower candidate id. A non-finite score (NaN, +Infinity,
 * -Infinity: a broken reward model or a diverged sample) counts as the worst score of all, below every finite
 * one and equal to every other non-finite one, so it ranks last, ties to the lower id. Without this a NaN,
 * which compares false with everything, would never be beaten, and +Infinity would win every prune.
 * Ids are distinct, so this is a strict total order and every selection below is deterministic. The
 * simulator's rank tables (core/sim/rank-table.ts) encode the same order.
 */

/** The score as ranked: non-finite values become -Infinity, which no finite score equals. */
export function rankable(score: number): number {
  // x - x is 0 for every finite x and NaN for NaN and both infinities.
  return score - score === 0 ? score : Number.NEGATIVE_INFINITY;
}

/** True when position a ranks strictly before position b. */
function before(scores: ArrayLike<number>, ids: ArrayLike<number>, a: number, b: number): boolean {
  const sa = rankable(scores[a] as number);
  const sb = rankable(scores[b] as number);
  return sa > sb || (sa === sb && (ids[a] as number) < (ids[b] as number));
}

/**
 * Writes into `out[0..k)` the positions of the k best of the first n entries, best first.
 * Insertion into a sorted top-k buffer: allocation-free and fast for small k.
 */
export function selectBest(scores: ArrayLike<number>, ids: ArrayLike<number>, n: number, k: number, out: Int32Array): void {
  const kk = Math.min(k, n);
  let filled = 0;
  for (let j = 0; j < n; j++) {
    if (filled === kk) {
      const worst = out[kk - 1] as number;
      if (!before(scores, ids, j, worst)) continue;
      filled--;
    }
    let i = filled;
    while (i > 0 && before(scores, ids, j, out[i - 1] as number)) {
      out[i] = out[i - 1] as number;
      i--;
    }
    out[i] = j;
    filled++;
  }
}

/** Position of the best of the first n entries (n >= 1). */
export function bestPosition(scores: ArrayLike<number>, ids: ArrayLike<number>, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (before(scores, ids, j, best)) best = j;
  return best;
}

/**
 * Marks with 1 in `mask[0..n)` the k best of the first n entries (the set, in no order) and leaves the rest
 * 0. `work` (length >= n) is scratch. Quickselect on positions: O(n) on average against O(n k) for
 * selectBest, which matters when k is a large fraction of n (a prune point keeps 40% of hundreds).
 */
export function markBest(scores: ArrayLike<number>, ids: ArrayLike<number>, n: number, k: number, mask: Uint8Array, work: Int32Array): void {
  if (k >= n) {
    mask.fill(1, 0, n);
    return;
  }
  mask.fill(0, 0, n);
  if (k <= 0) return;
  if (k <= 4 || n <= 16) {
    // Small cases: the top-k buffer beats partitioning.
    selectBest(scores, ids, n, k, work);
    for (let r = 0; r < k; r++) mask[work[r] as number] = 1;
    return;
  }
  for (let j = 0; j < n; j++) work[j] = j;
  // Invariant: the k best lie in work[0..k) once [lo, hi] has shrunk around position k-1.
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    // median of three as pivot, moved to hi
    const mid = (lo + hi) >>> 1;
    const a = work[lo] as number;
    const b = work[mid] as number;
    const c = work[hi] as number;
    let p: number;
    if (before(scores, ids, a, b)) p = before(scores, ids, b, c) ? mid : before(scores, ids, a, c) ? hi : lo;
    else p = before(scores, ids, a, c) ? lo : before(scores, ids, b, c) ? hi : mid;
    const pivot = work[p] as number;
    work[p] = c;
    work[hi] = pivot;
    let store = lo;
    for (let i = lo; i < hi; i++) {
      const w = work[i] as number;
      if (before(scores, ids, w, pivot)) {
        work[i] = work[store] as number;
        work[store] = w;
        store++;
      }
    }
    work[hi] = work[store] as number;
    work[store] = pivot;
    if (store === target) break;
    if (store < target) lo = store + 1;
    else hi = store - 1;
  }
  for (let r = 0; r < k; r++) mask[work[r] as number] = 1;
}

/** Scratch for takeBestRanks over ranks in [0, limit): a bitset of ranks and a rank -> id table. */
export interface RankScratch {
  readonly words: Int32Array;
  readonly idAtRank: Int32Array;
}

export function rankScratch(limit: number): RankScratch {
  return { words: new Int32Array(Math.ceil(limit / 32)), idAtRank: new Int32Array(limit) };
}

/**
 * Keeps the k best of the n ids in `ids[0..n)`, writing them best first into `ids[0..k)`, for scores given
 * as ranks looked up by candidate id: candidate `id` has rank `ranksById[offset + id]`, a distinct integer
 * in [0, limit) with 0 = best, ordered as the scores would be (higher score first, ties to the lower id).
 * A caller that knows the ranks in advance (the simulator precomputes them per trace, prompt and step)
 * selects without comparing floats: the ranks go into a bitset and the lowest k set bits are read back,
 * O(n + k + limit/32). `scratch.words` must be all zero on entry and is left so.
 */
export function takeBestRanks(ranksById: ArrayLike<number>, offset: number, ids: Int32Array, n: number, k: number, scratch: RankScratch): void {
  const { words, idAtRank } = scratch;
  let top = 0;
  for (let j = 0; j < n; j++) {
    const id = ids[j] as number;
    const r = ranksById[offset + id] as number;
    idAtRank[r] = id;
    const w = r >>> 5;
    words[w] = (words[w] as number) | (1 << (r & 31));
    if (w > top) top = w;
  }
  let got = 0;
  for (let w = 0; w <= top; w++) {
    let x = words[w] as number;
    words[w] = 0;
    for (; x !== 0 && got < k; x &= x - 1) ids[got++] = idAtRank[(w << 5) | (31 - Math.clz32(x & -x))] as number;
  }
}

/** Positions of all n entries, best first. */
export function orderBest(scores: ArrayLike<number>, ids: ArrayLike<number>, n: number): Int32Array {
  const out = new Int32Array(n);
  for (let j = 0; j < n; j++) out[j] = j;
  out.sort((a, b) => (before(scores, ids, a, b) ? -1 : before(scores, ids, b, a) ? 1 : 0));
  return out;
}

/**
 * Rank-sum of several rewards: each entry's rank (1 = best) under each reward, summed. Returned negated so
 * that "higher is better" holds and the result feeds selectBest directly (ties then go to the lower id).
 */
export function negatedRankSum(scoresByReward: readonly ArrayLike<number>[], ids: ArrayLike<number>, n: number): Float64Array {
  const sums = new Float64Array(n);
  for (const scores of scoresByReward) {
    const order = orderBest(scores, ids, n);
    for (let r = 0; r < n; r++) {
      const pos = order[r] as number;
      sums[pos] = (sums[pos] as number) - (r + 1);
    }
  }
  return sums;
}

/** One combined "higher is better" score per entry: the reward itself when there is one, else negated rank-sum. */
export function combinedScores(scoresByReward: readonly ArrayLike<number>[], ids: ArrayLike<number>, n: number): ArrayLike<number> {
  if (scoresByReward.length === 0) throw new RangeError('at least one reward is needed to rank candidates');
  return scoresByReward.length === 1 ? (scoresByReward[0] as ArrayLike<number>) : negatedRankSum(scoresByReward, ids, n);
}
