import { Rng } from '../engine/rng.js';
import type { RewardTrace } from './reward-trace.js';

/** Shape and seed of a generated trace; defaults match the paper's traces ([100, 200, 20]). */
export interface SyntheticTraceOptions {
  readonly prompts?: number;
  readonly candidates?: number;
  readonly steps?: number;
  readonly seed?: number;
  readonly name?: string;
}

/**
 * A plausible reward trace made from a seed alone, so that `simulate` runs with no data. Each candidate has
 * a latent final quality (prompt mean + candidate spread); its per-step reward is that quality plus a
 * blur penalty shared by all candidates (early Tweedie estimates score lower) plus its own noise, a
 * correlated walk whose size shrinks to zero at the last step. The noise-aware reward sees the same walk
 * at 40% of the size: it ranks early estimates better, which is what NARF is for. At the last step
 * base and narf are both the latent quality, as in the real traces.
 */
export function syntheticTrace(options: SyntheticTraceOptions = {}): RewardTrace {
  const { prompts = 100, candidates = 200, steps = 20, seed = 0, name = `synthetic-${seed}` } = options;
  const rng = new Rng(seed ^ 0x5eed);
  const normal = normalSource(rng);
  const base = new Float32Array(prompts * candidates * steps);
  const narf = new Float32Array(base.length);
  const rho = 0.85; // step-to-step correlation of a candidate's noise
  const innovation = Math.sqrt(1 - rho * rho);
  const noiseSize = Float64Array.from({ length: steps }, (_, s) => 0.7 * Math.pow(1 - (s + 1) / steps, 0.7));
  const blur = Float64Array.from({ length: steps }, (_, s) => -0.8 * (1 - (s + 1) / steps) ** 2);
  for (let p = 0; p < prompts; p++) {
    const promptMean = 0.5 * normal();
    const spread = 0.15 + 0.1 * rng.below(1000) / 1000; // prompts differ in how much seeds matter
    for (let c = 0; c < candidates; c++) {
      const quality = promptMean + spread * normal();
      let walk = normal();
      let off = (p * candidates + c) * steps;
      for (let s = 0; s < steps; s++, off++) {
        const noise = (noiseSize[s] as number) * walk;
        const mean = quality + (blur[s] as number);
        base[off] = mean + noise;
        narf[off] = mean + noise / 2.5;
        walk = rho * walk + innovation * normal();
      }
    }
  }
  return { name, prompts, candidates, steps, base, narf, hasNarf: true };
}

/** Standard normal draws by Box-Muller from the engine's seeded generator. */
function normalSource(rng: Rng): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const u = (rng.nextU32() + 1) / 4294967297; // (0, 1)
    const v = rng.nextU32() / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}
