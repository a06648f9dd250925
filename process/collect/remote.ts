import { variantStepsToProto } from '../../core/contract/collect.js';
import type { CoordinatorGrpcClient } from '../../coordinator/client.js';
import { streamCollect } from '../../coordinator/collect/client.js';
import type { CollectDriver } from './collect.js';
import type { CollectSpec } from './spec.js';

/** `collect --coordinator`: the prompts go to the coordinator as one Collect call; its workers do the work. */
export function remoteDriver(client: CoordinatorGrpcClient, spec: CollectSpec): CollectDriver {
  return {
    run(positions, sink, signal) {
      if (positions.length === 0) return Promise.resolve();
      const req = {
        prompts: positions.map((p) => spec.promptIds[p] as number),
        texts: spec.pool > 0 ? [] : positions.map((p) => spec.texts[p] as string),
        candidates: spec.candidates,
        seed: spec.seed,
        rewards: [...spec.rewards],
        variant_steps: variantStepsToProto(spec.variantSteps),
        fingerprint: spec.source.fingerprint,
        save_tweedie: [...spec.saveTweedie],
      };
      const at = (i: number): number => {
        const p = positions[i];
        if (p === undefined) throw new RangeError(`the coordinator sent prompt position ${i} of a request of ${positions.length}`);
        return p;
      };
      return streamCollect(client, req, { done: (i, values) => sink.done(at(i), values), tweedie: (i, chunk) => sink.tweedie(at(i), chunk) }, signal);
    },
  };
}
