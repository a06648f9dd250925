// Fair share measured in accelerator batches, not in wall time. A job whose candidates arrive behind another
// job's queued batches gets half of every batch on the worker, instead of waiting for those batches to drain.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryScoreBus } from '../../../core/bus/memory.js';
import { parseCandidateKey } from '../../../core/contract/candidates.js';
import type { WorkerBackend } from '../../../worker/backend.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const rewards = [{ name: 'pic', noiseAware: false }];

/** A trace backend (1 ms a step, batches of 4) that logs each advance batch: the jobs of its candidates. */
async function loggedBackend(log: string[][]): Promise<WorkerBackend> {
  const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '1' });
  const advance = backend.advance.bind(backend);
  backend.advance = (items, signal) => {
    log.push(items.map((it) => parseCandidateKey(it.key).job));
    return advance(items, signal);
  };
  return backend;
}

describe('fair share in accelerator batches', () => {
  const bus = new MemoryScoreBus();
  const runtimes: WorkerRuntime[] = [];
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.close();
  });

  it("a worker gives a job queued behind another's three batches half of each batch", async () => {
    const log: string[][] = [];
    const rt = new WorkerRuntime({ id: 'w', backend: await loggedBackend(log), bus });
    runtimes.push(rt);
    const small: number[] = [];
    bus.subscribe((s) => void (s.job === 'small' && small.push(log.length)));
    const queue = async (job: string, prompt: number, n: number, toStep: number): Promise<void> => {
      const specs = range(0, n).map((candidate) => ({ prompt, candidate, seed: candidate, text: '' }));
      await rt.take(job, specs);
      rt.advance(job, toStep, specs.map(({ candidate }) => ({ prompt, candidate })), rewards);
    };
    // the huge job fills the worker's places (3 batches of 10 steps each), then the small one arrives: 4
    // candidates of 3 steps, 3 batches alone
    await queue('huge', 0, 12, 9);
    await queue('small', 1, 4, 2);
    await rt.idle();
    expect(small).toHaveLength(4);
    // the batch already running when it arrived, then 2 of the 4 places in each batch: 6 batches (first in, first out: 33)
    expect(Math.max(...small)).toBe(7);
    expect(log.slice(1, 7).map((b) => b.filter((j) => j === 'small').length)).toEqual([2, 2, 2, 2, 2, 2]);
    // the huge job lost nothing: every candidate advanced its 10 steps
    expect(log.flat().filter((j) => j === 'huge')).toHaveLength(120);
  });
});
