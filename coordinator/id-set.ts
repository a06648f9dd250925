/**
 * Candidate ids as a finished prompt keeps them: ascending ids as runs of consecutive ids (0..n-1 is one run)
 * or as a bitset over their span (n of a trace pool of m: m/8 bytes), whichever is smaller; ids in any other
 * order as a plain list. A job of 10,000 prompts x 100 thus keeps kilobytes of ids, not a JS array per prompt.
 */
export type IdSet =
  | { readonly kind: 'runs'; readonly runs: Uint32Array }
  | { readonly kind: 'bits'; readonly base: number; readonly bits: Uint8Array }
  | { readonly kind: 'list'; readonly ids: Uint32Array };

export function packIds(ids: ArrayLike<number>): IdSet {
  const n = ids.length;
  let runs = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i] as number;
    if (i > 0 && id <= (ids[i - 1] as number)) return { kind: 'list', ids: Uint32Array.from(ids) };
    if (i === 0 || id !== (ids[i - 1] as number) + 1) runs++;
  }
  const base = n > 0 ? (ids[0] as number) : 0;
  const span = n > 0 ? (ids[n - 1] as number) - base + 1 : 0;
  if (Math.ceil(span / 8) < runs * 8) {
    const bits = new Uint8Array(Math.ceil(span / 8));
    for (let i = 0; i < n; i++) {
      const b = (ids[i] as number) - base;
      bits[b >> 3] = (bits[b >> 3] as number) | (1 << (b & 7));
    }
    return { kind: 'bits', base, bits };
  }
  const out = new Uint32Array(runs * 2);
  let r = -1;
  for (let i = 0; i < n; i++) {
    const id = ids[i] as number;
    if (i === 0 || id !== (ids[i - 1] as number) + 1) {
      r++;
      out[2 * r] = id;
    }
    out[2 * r + 1] = (out[2 * r + 1] as number) + 1;
  }
  return { kind: 'runs', runs: out };
}

/** The ids, in the order they were packed. */
export function unpackIds(set: IdSet): number[] {
  const out: number[] = [];
  if (set.kind === 'list') return Array.from(set.ids);
  if (set.kind === 'runs') {
    for (let r = 0; r < set.runs.length; r += 2) {
      const start = set.runs[r] as number;
      for (let k = 0; k < (set.runs[r + 1] as number); k++) out.push(start + k);
    }
    return out;
  }
  set.bits.forEach((byte, i) => {
    for (let b = 0; b < 8; b++) if (byte & (1 << b)) out.push(set.base + i * 8 + b);
  });
  return out;
}

/** Bytes the packed ids hold (for the coordinator's memory budget). */
export function idSetBytes(set: IdSet): number {
  return set.kind === 'runs' ? set.runs.byteLength : set.kind === 'bits' ? set.bits.byteLength : set.ids.byteLength;
}
