import { afterEach, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import type { JobEvent } from '../../../core/generated/ttsnap/v1/JobEvent.js';
import { MemoryScoreBus } from '../../../core/bus/memory.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { startEmbedded, type EmbeddedCluster } from '../../../process/embedded.js';
import { InProcessWorkerClient } from '../../../worker/in-process-client.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { BASE, NARF, engineAlone } from '../../integration/runtime/engine-alone.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('several jobs', () => {
  let cluster: EmbeddedCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  async function start(): Promise<EmbeddedCluster> {
    cluster = await startEmbedded({ backend: 'trace', backendOptions: { base: BASE, narf: NARF, maxBatch: '4', stepMs: '1' }, workers: 2 });
    return cluster;
  }

  it('share the workers: a small job submitted after a big one ends first, both with the engine-alone winners', async () => {
    const { coordinator } = await start();
    const big = coordinator.submit({ prompts: range(0, 30), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1 });
    const small = coordinator.submit({ prompts: range(50, 53), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 2 });
    await Promise.all([coordinator.whenEnded(big.id), coordinator.whenEnded(small.id)]);
    expect(small.endedAt).toBeLessThan(big.endedAt);
    // the small job needed ~1/10 of the big one's work; with fair share it is not stuck behind it
    expect(small.endedAt - small.createdAt).toBeLessThan((big.endedAt - big.createdAt) / 2);
    for (const [job, prompts, seed] of [[big, range(0, 30), 1], [small, range(50, 53), 2]] as const) {
      const winners = coordinator.result(job.id).prompts?.map((p) => p.winner?.candidate);
      expect(winners).toEqual(engineAlone(prompts, 20, PAPER_SCHEDULE, seed).map((e) => e.winner));
    }
  });

  it('cancelling one job releases its candidates everywhere and leaves the other running', async () => {
    const c = await start();
    const a = c.coordinator.submit({ prompts: range(0, 20), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1 });
    const b = c.coordinator.submit({ prompts: range(20, 26), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 2 });
    const events: JobEvent[] = [];
    c.coordinator.watch(a.id, (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 30));
    expect(c.coordinator.cancel(a.id)).toBe('cancelled');
    await c.coordinator.whenEnded(b.id);
    expect(b.state).toBe('done');
    expect(events.at(-1)?.done?.state).toBe('cancelled');
    await Promise.all(c.workers.map((w) => w.idle()));
    expect(c.workers.map((w) => w.liveCandidates)).toEqual([0, 0]);
    expect(c.coordinator.list().map((j) => [j.job, j.state])).toEqual([[b.id, 'done'], [a.id, 'cancelled']]);
  });
});

describe('workers joining', () => {
  it('a worker registered in the middle of a job takes a share of it', async () => {
    const bus = new MemoryScoreBus();
    const coordinator = new Coordinator(bus);
    const runtimes: WorkerRuntime[] = [];
    const join = async (id: string): Promise<void> => {
      const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '1' });
      const rt = new WorkerRuntime({ id, backend, bus });
      runtimes.push(rt);
      coordinator.registerWorker(new InProcessWorkerClient(rt), backend.info, { remote: false });
    };
    try {
      await join('first');
      const job = coordinator.submit({ prompts: range(0, 12), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 5 });
      await new Promise((r) => setTimeout(r, 50));
      await join('late');
      await coordinator.whenEnded(job.id);
      const busy = coordinator.result(job.id).timeline?.worker_busy_s ?? {};
      expect(Object.keys(busy).sort()).toEqual(['first', 'late']);
      expect(busy.late).toBeGreaterThan(0);
      expect(coordinator.result(job.id).prompts?.map((p) => p.winner?.candidate)).toEqual(engineAlone(range(0, 12), 20, PAPER_SCHEDULE, 5).map((e) => e.winner));
    } finally {
      await coordinator.close();
      for (const rt of runtimes) await rt.close();
      await bus.close();
    }
  });
});

describe('ended jobs kept in memory', () => {
  it('within a byte budget: past it the oldest ended job goes, never the one that just ended', async () => {
    const bus = new MemoryScoreBus();
    // a budget smaller than one job: only the job that just ended stays
    const coordinator = new Coordinator(bus, undefined, { keepBytes: 1 });
    const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '0' });
    const rt = new WorkerRuntime({ id: 'w', backend, bus });
    coordinator.registerWorker(new InProcessWorkerClient(rt), backend.info, { remote: false });
    try {
      const first = coordinator.submit({ prompts: range(0, 3), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1 });
      await coordinator.whenEnded(first.id);
      expect(first.retainedBytes).toBeGreaterThan(1);
      expect(coordinator.result(first.id).prompts).toHaveLength(3);
      const second = coordinator.submit({ prompts: range(3, 5), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1 });
      await coordinator.whenEnded(second.id);
      expect(() => coordinator.result(first.id)).toThrow(first.id);
      expect(coordinator.result(second.id).prompts?.map((p) => p.winner?.candidate)).toEqual(engineAlone(range(3, 5), 20, PAPER_SCHEDULE, 1).map((e) => e.winner));
    } finally {
      await coordinator.close();
      await rt.close();
      await bus.close();
    }
  });
});
