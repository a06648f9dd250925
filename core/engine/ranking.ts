/**
 * Ranking kernels shared by the coordinator, the simulator and the tuner. They work on positions into
 * parallel arrays (`ids[j]` has score `scores[j]`), so callers can reuse scratch buffers on hot paths.
 * Order: higher score first; equal scores go to the lower candidate id.
 */

/** True when position a ranks strictly before position b. */
function before(scores: ArrayLike<number>, ids: ArrayLike<number>, a: number, b: number): boolean {
  const sa = scores[a] as number;
  const sb = scores[b] as number;
  return sa > sb || (sa === sb && (ids[a] as number) < (ids[b] as number));
}

/**
 * Writes into `out[0..k)` the positions of the k best of the first n entries, best first.
 * Insertion into a sorted top-k buffer: k and n are small here (tens to a few hundred), where this beats
 * a full sort and allocates nothing.
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
