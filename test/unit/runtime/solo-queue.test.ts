// How deep the coordinator queues work on a worker: queueFactor batches, and soloQueueFactor batches while one job
// alone has the pool with more candidates waiting than those queues hold (fewer messages per candidate for a long
// job; shallow again as soon as a second job runs or the backlog fits).
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../core/log/logger.js';
import type { PromptCandidates } from '../../../core/contract/candidates.js';
import type { RewardSpec } from '../../../core/contract/backend-info.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { WorkerPool } from '../../../coordinator/workers.js';
import { InProcessWorkerClient } from '../../../worker/in-process-client.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';
import { inProcessFixture } from '../../support/in-process.js';

const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

/** An in-process client that counts the candidates it was asked to advance and that have not been scored yet. */
class InFlightClient extends InProcessWorkerClient {
  readonly inflight = new Set<string>();
  /** the most in flight at once, since the last reset */
  most = 0;
  override advance(job: string, toStep: number, groups: readonly PromptCandidates[], rewards: readonly RewardSpec[], previews = false): Promise<void> {
    for (const g of groups) for (const c of g.candidates) this.inflight.add(`${job}/${g.prompt}/${c}/${toStep}`);
    this.most = Math.max(this.most, this.inflight.size);
    return super.advance(job, toStep, groups, rewards, previews);
  }
}

describe('solo queue depth', () => {
  const { bus, runtimes, coordinator } = inProcessFixture();

  /** A coordinator (1 batch queued per worker, 2 when solo) with two workers of batch 4 (`stepMs` a step) that count what is in flight. */
  async function cluster(stepMs = 1): Promise<{ c: Coordinator; clients: InFlightClient[]; said: () => string[] }> {
    const lines: string[] = [];
    const out = new Writable({ write: (chunk: Buffer, _enc, done) => void (lines.push(String(chunk)), done()) });
    const log = createLogger({ process: 'test', destination: out, format: 'json' });
    const c = coordinator(new Coordinator(bus, undefined, { queueFactor: 1, soloQueueFactor: 2, log }));
    const said = (): string[] => lines.map((l) => String((JSON.parse(l) as { msg: unknown }).msg)).filter((m) => m.startsWith('workers of pool'));
    const clients: InFlightClient[] = [];
    bus.subscribe((s) => {
      for (const cl of clients) cl.inflight.delete(`${s.job}/${s.prompt}/${s.candidate}/${s.step}`);
    });
    for (const id of ['w0', 'w1']) {
      const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: String(stepMs) });
      const rt = new WorkerRuntime({ id, backend, bus });
      runtimes.push(rt);
      const client = new InFlightClient(rt);
      clients.push(client);
      c.registerWorker(client, backend.info, { remote: false });
    }
    return { c, clients, said };
  }

  it('queues soloQueueFactor batches while one job alone has a backlog beyond them, queueFactor once it fits', async () => {
    const { c, clients, said } = await cluster();
    // 10 prompts x 20 = 200 candidates, far beyond the 2 workers' solo queues (2 x 2 x 4 = 16)
    const job = c.submit({ prompts: range(0, 10), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 3 });
    await c.whenEnded(job.id);
    expect(clients.map((cl) => cl.most)).toEqual([8, 8]);
    // the log says when the depth changes, and why: deeper at the first fill, back once the last prompts are admitted
    expect(said()).toEqual([`workers of pool ${job.pool} queue 2 batches: job ${job.id} has it alone, with 200 candidates still to admit`, `workers of pool ${job.pool} queue 1 batch: job ${job.id}'s backlog fits its queues`]);
    // 12 candidates: the solo queues (16) hold them all, so the workers keep their 4
    for (const cl of clients) cl.most = 0;
    const small = c.submit({ prompts: [20], candidates: 12, schedule: [...PAPER_SCHEDULE], seed: 4 });
    await c.whenEnded(small.id);
    expect(clients.map((cl) => cl.most)).toEqual([4, 4]);
  });

  it('queues queueFactor batches while two jobs share the pool, however long their backlogs, and each job its share', async () => {
    const { c, clients } = await cluster();
    const jobs = [0, 1].map((k) => c.submit({ prompts: range(10 * k, 10 * k + 10), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: k }));
    // while both run (the one left may have the pool to itself afterwards): a worker's 4 places, and a job below
    // its share (2 of them) on a full worker gets up to it there, so at most 6, never the solo 8
    await Promise.race(jobs.map((j) => c.whenEnded(j.id)));
    for (const cl of clients) expect(cl.most).toBeGreaterThanOrEqual(4);
    for (const cl of clients) expect(cl.most).toBeLessThanOrEqual(6);
    await Promise.all(jobs.map((j) => c.whenEnded(j.id)));
  });

  it('gives a job submitted behind one with the deep queues its share of every worker at once', async () => {
    const { c, clients } = await cluster(50);
    const first = c.submit({ prompts: range(0, 10), candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1 });
    await vi.waitFor(() => expect(clients.map((cl) => cl.most)).toEqual([8, 8]));
    const second = c.submit({ prompts: [30], candidates: 8, schedule: [...PAPER_SCHEDULE], seed: 2 });
    const ofJob = (cl: InFlightClient, job: string): number => [...cl.inflight].filter((k) => k.startsWith(`${job}/`)).length;
    // the workers are full (the first job's 8, the shallow limit 4 now): the second job's 2 places on each come
    // from its share, not from a refill, which would wait until a worker is down to 2
    await vi.waitFor(() => expect(clients.map((cl) => ofJob(cl, second.id))).toEqual([2, 2]), { timeout: 2_000, interval: 5 });
    for (const cl of clients) expect(ofJob(cl, first.id)).toBeGreaterThan(2);
    await c.whenEnded(second.id);
    expect(second.state).toBe('done');
    c.cancel(first.id);
  });
});

describe('WorkerPool.setSolo', () => {
  const { bus, runtimes } = inProcessFixture();

  /** A client of a trace worker with batches of 8. */
  async function client(id: string): Promise<InProcessWorkerClient> {
    const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '8', stepMs: '1' });
    const rt = new WorkerRuntime({ id, backend, bus });
    runtimes.push(rt);
    return new InProcessWorkerClient(rt);
  }

  it("sets the pool's limits and refill points, and a worker that joins gets the pool's depth", async () => {
    const pool = new WorkerPool(4, 8);
    const [ca, cb] = [await client('a'), await client('b')];
    const a = pool.add(ca, ca.info, 0);
    expect([a.limit, a.refillAt, pool.soloCapacity(a.pool)]).toEqual([32, 16, 64]);
    pool.setSolo(a.pool, true);
    const b = pool.add(cb, cb.info, 0);
    expect([a.limit, a.refillAt, b.limit, b.refillAt, pool.soloCapacity(a.pool)]).toEqual([64, 32, 64, 32, 128]);
    pool.setSolo(a.pool, false);
    expect([a.limit, a.refillAt, b.limit]).toEqual([32, 16, 32]);
  });

  it('never goes deeper when soloQueueFactor is queueFactor', async () => {
    const pool = new WorkerPool(3);
    const ca = await client('a');
    const a = pool.add(ca, ca.info, 0);
    pool.setSolo(a.pool, true);
    expect(a.limit).toBe(24);
  });
});
