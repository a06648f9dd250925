import { ValidationError } from '../errors.js';
import type { Schedule } from './schedule.js';

/**
 * Search policies by name.
 * - `bon`: best-of-N, every candidate denoised to the end.
 * - `ttsnap`: prune on the schedule with the noise-aware (NARF) reward at each prune point.
 * - `ttsp`: the same schedule with the base reward at prune points (the paper's ablation).
 */
export type PolicyName = 'bon' | 'ttsnap' | 'ttsp';
export const POLICY_NAMES: readonly PolicyName[] = ['bon', 'ttsnap', 'ttsp'];

/** Which reward model scores prune points. */
export type PruneReward = 'narf' | 'base';

export interface Policy {
  readonly name: PolicyName;
  readonly schedule: Schedule;
  readonly pruneReward: PruneReward;
}

export function makePolicy(name: PolicyName, schedule: Schedule): Policy {
  switch (name) {
    case 'bon':
      return { name, schedule: [], pruneReward: 'base' };
    case 'ttsnap':
      return { name, schedule, pruneReward: 'narf' };
    case 'ttsp':
      return { name, schedule, pruneReward: 'base' };
  }
}

export function parsePolicyName(value: string, field = '--policy'): PolicyName {
  if ((POLICY_NAMES as readonly string[]).includes(value)) return value as PolicyName;
  throw new ValidationError(field, `unknown policy '${value}'`, POLICY_NAMES.join(' | '));
}
