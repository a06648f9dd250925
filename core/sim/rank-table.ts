import type { RewardTrace } from '../trace/reward-trace.js';

/**
 * Per-(prompt, step) ranks of every candidate of a trace under one reward: rank 0 is the highest reward,
 * equal rewards rank the lower candidate id first — the engine's order, so feeding these ranks to
 * PromptSearch.advanceRanked selects exactly what the rewards themselves would. Built once per trace for
 * the steps a run scores at; replays then select through a bitset of ranks instead of comparing floats.
 */
export class RankTable {
  /** ranks[(prompt * steps + step) * candidates + candidate]; valid for steps that ensure() has filled */
  readonly ranks: Uint8Array | Uint16Array;
  private readonly bits: Uint32Array;
  private readonly filled: Uint8Array;

  constructor(
    readonly trace: RewardTrace,
    source: Float32Array,
  ) {
    if (trace.candidates > 0xffff) throw new RangeError(`rank tables hold at most 65535 candidates, not ${trace.candidates}`);
    // One byte per rank where it fits (up to 256 candidates): half the cache footprint of the hot loop.
    const size = trace.prompts * trace.steps * trace.candidates;
    this.ranks = trace.candidates <= 256 ? new Uint8Array(size) : new Uint16Array(size);
    this.bits = new Uint32Array(source.buffer, source.byteOffset, source.length);
    this.filled = new Uint8Array(trace.steps);
  }

  /** Fills the ranks of every prompt at these steps (once per step). */
  ensure(steps: Iterable<number>): this {
    const { prompts, candidates: c, steps: s } = this.trace;
    const todo = [...new Set(steps)].filter((step) => !this.filled[step]);
    if (todo.length === 0) return this;
    todo.forEach((step) => (this.filled[step] = 1));
    // Each reward as an order-preserving uint32, flipped so that ascending means best first, then a
    // stable LSD radix sort of the ids (four byte-wide passes): equal rewards stay in id order.
    // The keys of all steps come from one pass over a prompt: the trace holds a candidate's steps together.
    const t = todo.length;
    const keys = new Uint32Array(t * c); // keys[k * c + i]: step todo[k], candidate i
    const sorter = new RadixSorter(c);
    const { bits, ranks } = this;
    for (let p = 0; p < prompts; p++) {
      for (let i = 0; i < c; i++) {
        const at = (p * c + i) * s;
        for (let k = 0; k < t; k++) keys[k * c + i] = descendingKey(bits[at + (todo[k] as number)] as number);
      }
      for (let k = 0; k < t; k++) {
        const order = sorter.sort(keys.subarray(k * c, (k + 1) * c));
        const out = (p * s + (todo[k] as number)) * c;
        for (let r = 0; r < c; r++) ranks[out + (order[r] as number)] = r;
      }
    }
    return this;
  }

  /** Offset of rank(prompt, 0, step): candidate i's rank is at offset + i. */
  offset(prompt: number, step: number): number {
    return (prompt * this.trace.steps + step) * this.trace.candidates;
  }
}

/**
 * float32 bits -> uint32 that sorts ascending from the highest reward to the lowest (-0 as +0). Non-finite
 * rewards (exponent all ones: NaN, +-Infinity) get the largest key, 0xffffffff, which no finite reward reaches
 * (the lowest, -FLT_MAX, maps to 0xff7fffff): they rank last, in id order, as in the engine's ranking.
 */
function descendingKey(b: number): number {
  if ((b & 0x7f800000) === 0x7f800000) return 0xffffffff;
  const v = (b & 0x7fffffff) === 0 ? 0 : b;
  const ordered = v & 0x80000000 ? ~v >>> 0 : (v | 0x80000000) >>> 0;
  return 0xffffffff - ordered;
}

/** Stable LSD radix sort of the ids 0..n-1 by uint32 keys, reusing its buffers. */
class RadixSorter {
  private order: Int32Array;
  private spare: Int32Array;
  private readonly counts = new Int32Array(256);

  constructor(private readonly n: number) {
    this.order = new Int32Array(n);
    this.spare = new Int32Array(n);
  }

  /** Ids in ascending key order, equal keys in id order (a view, valid until the next sort). */
  sort(keys: Uint32Array): Int32Array {
    const { n, counts } = this;
    for (let i = 0; i < n; i++) this.order[i] = i;
    for (let shift = 0; shift < 32; shift += 8) {
      counts.fill(0);
      for (let i = 0; i < n; i++) {
        const digit = ((keys[i] as number) >>> shift) & 255;
        counts[digit] = (counts[digit] as number) + 1;
      }
      for (let b = 0, sum = 0; b < 256; b++) {
        const k = counts[b] as number;
        counts[b] = sum;
        sum += k;
      }
      const { order, spare } = this;
      for (let i = 0; i < n; i++) {
        const id = order[i] as number;
        const digit = ((keys[id] as number) >>> shift) & 255;
        const at = counts[digit] as number;
        counts[digit] = at + 1;
        spare[at] = id;
      }
      this.order = spare;
      this.spare = order;
    }
    return this.order;
  }
}
