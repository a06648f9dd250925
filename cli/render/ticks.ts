/** Tick positions for an axis: equally spaced round values, and the range the axis spans. */
export interface Ticks {
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
  readonly ticks: readonly number[];
}

/**
 * About `count` ticks at multiples of 1, 2 or 5 times a power of ten between lo and hi. With `widen` the range
 * grows to the enclosing ticks (a value axis); without, it stays [lo, hi] and only inner ticks are listed
 * (a budget axis, whose ends are the data's). An empty range is widened by one either side.
 */
export function niceTicks(lo: number, hi: number, count: number, widen: boolean): Ticks {
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const [a, b] = widen ? [Math.floor(lo / step + 1e-9), Math.ceil(hi / step - 1e-9)] : [first, last];
  const ticks = Array.from({ length: b - a + 1 }, (_, k) => (a + k) * step);
  return widen ? { lo: a * step, hi: b * step, step, ticks } : { lo, hi, step, ticks };
}

/** A tick value with as many decimals as its step needs (0.02 steps -> 2 decimals, 500 steps -> none). */
export function tickLabel(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const fixed = value.toFixed(decimals);
  return /^-0(\.0*)?$/.test(fixed) ? fixed.slice(1) : fixed;
}
