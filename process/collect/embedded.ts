import type { WorkerBackend } from '../../worker/backend.js';
import type { CollectDriver } from './collect.js';
import { collectPrompt } from './run-prompt.js';
import type { CollectSpec } from './spec.js';

/** The embedded collect: each backend takes the next unfinished prompt, so a faster one takes more. */
export function embeddedDriver(backends: readonly WorkerBackend[], spec: CollectSpec): CollectDriver {
  return {
    async run(positions, sink, signal) {
      const queue = [...positions];
      const work = async (backend: WorkerBackend): Promise<void> => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
          const position = p;
          sink.done(position, await collectPrompt(backend, spec, position, (c) => sink.tweedie(position, c), signal));
        }
      };
      await Promise.all(backends.map(work));
    },
  };
}
