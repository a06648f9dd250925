import { join, resolve } from 'node:path';
import { schedulerFromConfig } from '../../core/diffusion/from-config.js';
import type { DiffusionScheduler } from '../../core/diffusion/scheduler.js';
import { ValidationError } from '../../core/errors.js';
import { loadManifest, readJson, type Manifest } from './manifest.js';
import type { AdaptedSession } from './session.js';
import type { BundleBase, RewardSessions } from './bundle.js';

/** What `search` needs to know of a bundle before it submits: its default schedule and where its noise-aware variants are. */
export interface BundleSearchInfo {
  /** the manifest's default prune schedule (undefined when it has none) */
  readonly schedule?: string;
  /** prune steps without a noise-aware variant of `reward`, under `steps` sampling steps (variants remapped by noise level) */
  missing(pruneSteps: readonly number[], rewards: readonly string[]): { reward: string; step: number }[];
}

export function bundleSearchInfo(dirIn: string, steps?: number): BundleSearchInfo {
  const dir = resolve(dirIn);
  const m: Manifest = loadManifest(dir);
  const file = join(dir, 'scheduler', 'scheduler_config.json');
  const s = m.sampling;
  const sched = (n: number): DiffusionScheduler => schedulerFromConfig(readJson(file, 'a diffusers scheduler config'), n, { file, ...(s.scheduler ? { kind: s.scheduler } : {}), ...(s.mu !== undefined ? { mu: s.mu } : {}), pipelineSigmas: s.sigmas === 'linspace' });
  const trained = sched(s.steps);
  const actual = steps === undefined || steps === s.steps ? trained : sched(steps);
  return {
    ...(s.schedule !== undefined ? { schedule: s.schedule } : {}),
    missing(pruneSteps, rewards) {
      const names = rewards.length ? rewards : m.default_rewards.slice(0, 1);
      return names.flatMap((reward) => {
        const have = new Set(Object.keys(m.rewards[reward]?.noise_aware ?? {}).map((k) => remapStep(Number(k), trained, actual, reward)));
        return pruneSteps.filter((step) => step < actual.steps - 1 && !have.has(step)).map((step) => ({ reward, step }));
      });
    },
  };
}

/**
 * The step of `to` at the noise level (timestep) of step `step` of `from`: the nearest step, if it lies within
 * a quarter of `to`'s step spacing there; otherwise the variant has no step at its noise level and is refused.
 */
export function remapStep(step: number, from: DiffusionScheduler, to: DiffusionScheduler, reward: string): number {
  if (from === to) return step;
  const t = from.timesteps[step] as number;
  let best = 0;
  to.timesteps.forEach((v, i) => {
    if (Math.abs(v - t) < Math.abs((to.timesteps[best] as number) - t)) best = i;
  });
  const spacing = Math.abs((to.timesteps[Math.min(best + 1, to.steps - 1)] as number) - (to.timesteps[Math.max(best - 1, 0)] as number)) / 2;
  if (Math.abs((to.timesteps[best] as number) - t) > spacing / 4) {
    throw new ValidationError('--steps', `${to.steps} has no step at the noise level of reward ${reward}'s noise-aware variant for step ${step} of ${from.steps} (timestep ${t}; nearest ${to.timesteps[best]} at step ${best})`, `the bundle's ${from.steps} steps, or a step count whose schedule has each variant's timestep`);
  }
  return best;
}

const remapped = new WeakMap<RewardSessions, Map<number, ReadonlyMap<number, AdaptedSession>>>();

/**
 * A reward's noise-aware variants by step index under `total` sampling steps (a candidate's own steps): remapped
 * from the steps they were trained on by noise level; one without a step at its noise level is left out, so a
 * prune there is a missing variant (refused, or the base reward with --missing-variant base).
 */
export function variantsAt(r: RewardSessions, b: BundleBase, total: number): ReadonlyMap<number, AdaptedSession> {
  if (total === b.scheduler.steps) return r.byStep;
  const cache = remapped.get(r) ?? new Map<number, ReadonlyMap<number, AdaptedSession>>();
  remapped.set(r, cache);
  let out = cache.get(total);
  if (!out) {
    const to = b.schedulerFor(total);
    const map = new Map<number, AdaptedSession>();
    for (const [step, session] of r.trained) {
      try {
        map.set(remapStep(step, b.trainedScheduler, to, r.name), session);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
      }
    }
    out = map;
    cache.set(total, out);
  }
  return out;
}
