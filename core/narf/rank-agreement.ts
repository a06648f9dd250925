import { bootstrapMeans, type Spread } from '../sim/bootstrap.js';
import type { RewardTrace } from '../trace/reward-trace.js';

/**
 * How well a step's score predicts the final one: within each prompt, the rank agreement of the candidates'
 * reward at step s (base, or noise-aware) with the base reward of their finished images, as Kendall's tau-b
 * and Spearman's rho; averaged over prompts with a bootstrap interval over resampled prompts (the paper's
 * Figure 3). Pruning keeps the top of each prompt, so only within-prompt order matters.
 */

/** A mean over prompts with its bootstrap spread. */
export interface MeanWithSpread extends Spread {
  readonly mean: number;
}

export interface StepAgreement {
  readonly step: number;
  /** true where the trace has noise-aware values at this step (meta.json), so narf differs from base */
  readonly variant: boolean;
  readonly kendall: { readonly base: MeanWithSpread; readonly narf: MeanWithSpread };
  readonly spearman: { readonly base: MeanWithSpread; readonly narf: MeanWithSpread };
}

export interface RankAgreement {
  readonly trace: string;
  readonly prompts: number;
  readonly candidates: number;
  readonly resamples: number;
  readonly steps: readonly StepAgreement[];
}

export interface AgreementOptions {
  /** [start, end) prompts (default all) */
  readonly prompts?: readonly [number, number];
  /** steps with noise-aware values (default: every step where narf differs from base somewhere) */
  readonly variantSteps?: readonly number[];
  readonly resamples: number;
  readonly seed: number;
}

/** Per step 0..S-2 (S-1 is the final image itself): mean within-prompt tau and rho, base vs noise-aware. */
export function rankAgreement(trace: RewardTrace, opts: AgreementOptions): RankAgreement {
  const [p0, p1] = opts.prompts ?? [0, trace.prompts];
  if (!(Number.isInteger(p0) && Number.isInteger(p1) && 0 <= p0 && p0 < p1 && p1 <= trace.prompts)) {
    throw new RangeError(`rankAgreement: prompts ${p0}:${p1} outside the trace's 0:${trace.prompts}`);
  }
  if (trace.candidates < 2) throw new RangeError('rankAgreement: needs at least 2 candidates per prompt');
  const { candidates: c, steps: S } = trace;
  const variants = new Set(opts.variantSteps ?? differingSteps(trace));
  const final = new Float64Array(c);
  const at = new Float64Array(c);
  const finalRanks = new Float64Array(c);
  const atRanks = new Float64Array(c);
  // [step][variant: 0 base, 1 narf][measure: 0 tau, 1 rho] -> per-prompt values
  const rows = Array.from({ length: S - 1 }, () => [0, 1].map(() => [0, 1].map(() => new Array<number>(p1 - p0))));
  for (let p = p0; p < p1; p++) {
    const row = p * c * S;
    for (let i = 0; i < c; i++) final[i] = trace.base[row + i * S + S - 1] as number;
    averageRanks(final, finalRanks);
    for (let s = 0; s < S - 1; s++) {
      for (const [v, src] of [trace.base, trace.narf].entries()) {
        if (v === 1 && !variants.has(s)) continue; // narf repeats base here
        for (let i = 0; i < c; i++) at[i] = src[row + i * S + s] as number;
        averageRanks(at, atRanks);
        const cell = rows[s]?.[v] as number[][];
        (cell[0] as number[])[p - p0] = kendallTauB(at, final);
        (cell[1] as number[])[p - p0] = pearson(atRanks, finalRanks);
      }
    }
  }
  const boot = { resamples: opts.resamples, seed: opts.seed };
  const steps = rows.map((byVariant, s): StepAgreement => {
    const variant = variants.has(s);
    const [base, narf] = [byVariant[0], variant ? byVariant[1] : byVariant[0]] as [number[][], number[][]];
    const cells = [base[0], base[1], narf[0], narf[1]] as number[][];
    const [tb, rb, tn, rn] = bootstrapMeans(cells, boot).map((sp, k) => ({ mean: mean(cells[k] as number[]), ...sp })) as MeanWithSpread[];
    return { step: s, variant, kendall: { base: tb as MeanWithSpread, narf: tn as MeanWithSpread }, spearman: { base: rb as MeanWithSpread, narf: rn as MeanWithSpread } };
  });
  return { trace: trace.name, prompts: p1 - p0, candidates: c, resamples: opts.resamples, steps };
}

/** Steps (before the last) where the narf values differ from the base ones anywhere. */
export function differingSteps(trace: RewardTrace): number[] {
  if (!trace.hasNarf) return [];
  const out = new Set<number>();
  for (let i = 0; i < trace.base.length; i++) if (trace.base[i] !== trace.narf[i]) out.add(i % trace.steps);
  out.delete(trace.steps - 1);
  return [...out].sort((a, b) => a - b);
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Ranks 1..n with ties given their average rank (as scipy.stats.rankdata). */
export function averageRanks(xs: ArrayLike<number>, out: Float64Array): void {
  const n = xs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (xs[a] as number) - (xs[b] as number));
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && xs[order[j + 1] as number] === xs[order[i] as number]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k] as number] = r;
    i = j + 1;
  }
}

/** Pearson correlation; 0 when either side is constant (no order to agree with). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i] as number;
    my += y[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx === 0 || syy === 0 ? 0 : sxy / Math.sqrt(sxx * syy);
}

/** Kendall's tau-b (ties on either side counted as scipy.stats.kendalltau does); 0 when either side is constant. O(n^2), fine for a prompt's candidates. */
export function kendallTauB(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    for (let j = i + 1; j < n; j++) {
      const dx = xi - (x[j] as number);
      const dy = yi - (y[j] as number);
      if (dx === 0 && dy === 0) continue; // tied on both: in neither count nor either tie term
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx > 0 === dy > 0) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
  return denom === 0 ? 0 : (concordant - discordant) / denom;
}
