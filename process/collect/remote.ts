import { variantStepsToProto } from '../../core/contract/collect.js';
import type { CoordinatorGrpcClient } from '../../coordinator/client.js';
import { streamCollect } from '../../coordinator/collect/client.js';
import type { CollectDriver } from './collect.js';
import type { CollectSpec } from './spec.js';

/** `collect --coordinator`: the prompts go to the coordinator as one Collect call; its workers do the work. */
export function remoteDriver(client: CoordinatorGrpcClient, spec: CollectSpec): CollectDriver {
  const none = new Float32Array(0);
  return {
    run(positions, done, signal) {
      if (positions.length === 0) return Promise.resolve();
      const req = {
        prompts: positions.map((p) => spec.promptIds[p] as number),
        texts: spec.pool > 0 ? [] : positions.map((p) => spec.texts[p] as string),
        candidates: spec.candidates,
        seed: spec.seed,
        rewards: [...spec.rewards],
        variant_steps: variantStepsToProto(spec.variantSteps),
        fingerprint: spec.source.fingerprint,
      };
      return streamCollect(client, req, (i, values) => done(positions[i] as number, values, none), signal);
    },
  };
}
