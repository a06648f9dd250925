// Fair share measured in accelerator batches, not in wall time. A job whose candidates arrive behind another
// job's queued batches gets half of every batch on the worker, instead of waiting for those batches to drain;
// across a cluster, a small job submitted behind a huge one ends within a bound of its time alone, both counted
// in batches the busier worker ran.
import { describe, expect, it } from 'vitest';
import { parseCandidateKey } from '../../../core/contract/candidates.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import type { WorkerBackend } from '../../../worker/backend.js';
import { InProcessWorkerClient } from '../../../worker/in-process-client.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { BASE, NARF, engineAlone } from '../../integration/runtime/engine-alone.js';
import { inProcessFixture } from '../../support/in-process.js';

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
  const { bus, runtimes, coordinator } = inProcessFixture();

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

  it('a small job submitted behind a huge one ends within 3 times the batches it takes alone (its half share: 2)', async () => {
    const c = coordinator(new Coordinator(bus));
    const logs: string[][][] = [[], []];
    for (const [w, log] of logs.entries()) {
      const backend = await loggedBackend(log);
      const rt = new WorkerRuntime({ id: `w${w}`, backend, bus });
      runtimes.push(rt);
      c.registerWorker(new InProcessWorkerClient(rt), backend.info, { remote: false });
    }
    /** batches the busier worker ran from the small job's submission to its end: the accelerators' clock */
    const runSmall = async (seed: number): Promise<number> => {
      const before = logs.map((l) => l.length);
      const job = c.submit({ prompts: range(50, 54), candidates: 20, schedule: [...PAPER_SCHEDULE], seed });
      await c.whenEnded(job.id);
      expect(job.state).toBe('done');
      expect(c.result(job.id).prompts?.map((p) => p.winner?.candidate)).toEqual(engineAlone(range(50, 54), 20, PAPER_SCHEDULE, seed).map((e) => e.winner));
      return Math.max(...logs.map((l, w) => l.length - (before[w] as number)));
    };
    const alone = await runSmall(2);
    const huge = c.submit({ prompts: range(0, 40), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1 });
    // the huge job holds every place on both workers by then
    while (logs.every((l) => l.length < 20)) await new Promise((r) => setTimeout(r, 5));
    const behind = await runSmall(3);
    expect(huge.state).toBe('running');
    // 2 where it fills its share of the places; its last stages (few candidates, long segments) are bound by
    // their own steps, not by the share; measured 2.1 to 2.5 (alone about 70 batches)
    expect(behind / alone).toBeLessThan(3);
    await c.whenEnded(huge.id);
    expect(huge.state).toBe('done');
  });
});
