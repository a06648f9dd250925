/** The least, middle and greatest of a set of figures: how the benchmarks quote several runs. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** Spread of a set of figures, rounded to `digits` (the median of an even count is the mean of the middle two). */
export function spread(xs: readonly number[], digits = 2): Spread {
  const v = [...xs].sort((a, b) => a - b);
  const r = (x: number | undefined): number => Number((x ?? 0).toFixed(digits));
  const mid = ((v[Math.floor((v.length - 1) / 2)] ?? 0) + (v[Math.floor(v.length / 2)] ?? 0)) / 2;
  return { min: r(v[0]), median: r(mid), max: r(v[v.length - 1]) };
}
