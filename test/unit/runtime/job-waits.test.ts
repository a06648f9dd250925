// A running job that no worker can take (its pool's workers lost, draining or quarantined, or older than its
// sampling settings) tells its watchers why, once per change, and once more when a worker takes it again:
// a long job must not wait in silence.
import { describe, expect, it, vi } from 'vitest';
import type { JobWaiting } from '../../../core/generated/ttsnap/v1/JobWaiting.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { PromMetricsSink } from '../../../core/metrics/sink.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { Job } from '../../../coordinator/job.js';
import { MemoryJournalStore } from '../../../coordinator/journal/store.js';
import { whyNoWorker, WorkerPool } from '../../../coordinator/workers.js';
import { InProcessWorkerClient } from '../../../worker/in-process-client.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';
import { inProcessFixture } from '../../support/in-process.js';
import { journaledJob } from '../../support/journaled-job.js';

describe('a job that waits for a worker', () => {
  const { bus, runtimes, coordinator, join } = inProcessFixture();
  // the trace backend replays prompts by their index in the trace
  const prompts = Array.from({ length: 8 }, (_, i) => i);

  it('tells its watchers and ListJobs why, once per change, and when a worker takes it again', async () => {
    const metrics = new PromMetricsSink('coordinator', { processMetrics: false });
    const waitingGauge = async (): Promise<string | undefined> => (await metrics.render()).body.split('\n').find((l) => l.startsWith('ttsnap_jobs_waiting '));
    const c = coordinator(new Coordinator(bus, metrics, { sweepMs: 20 }));
    const first = await join(c, 'a');
    first.gone = true;
    const job = c.submit({ prompts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 3 });
    const waits: JobWaiting[] = [];
    const at: number[] = [];
    c.watch(job.id, (e) => void (e.waiting && waits.push(e.waiting) && at.push(Number(e.at_s))));
    // its only worker is lost at the first call
    const none = `no worker of pool ${job.pool} is registered: start one`;
    await vi.waitFor(() => expect(waits).toEqual([{ waiting: true, pool: job.pool, reason: none }]), { timeout: 5000 });
    expect(c.list().find((j) => j.job === job.id)?.waiting).toBe(none);
    expect(await waitingGauge()).toBe('ttsnap_jobs_waiting 1');
    // one registers, draining: the job still waits, for another reason
    const drained = await join(c, 'b', undefined, { draining: true });
    const why = `every worker of pool ${job.pool} that could take it is draining or quarantined: start another`;
    await vi.waitFor(() => expect(waits).toHaveLength(2), { timeout: 5000 });
    expect(waits[1]).toEqual({ waiting: true, pool: job.pool, reason: why });
    const serving = await join(c, 'c');
    await c.whenEnded(job.id);
    expect(job.state).toBe('done');
    expect(waits).toEqual([
      { waiting: true, pool: job.pool, reason: none },
      { waiting: true, pool: job.pool, reason: why },
      { waiting: false, pool: job.pool, reason: '' },
    ]);
    expect(c.list().find((j) => j.job === job.id)?.waiting).toBe('');
    await vi.waitFor(async () => expect(await waitingGauge()).toBe('ttsnap_jobs_waiting 0'), { timeout: 5000 });
    expect([first.took, drained.took, serving.took.length]).toEqual([[], [], 8 * 20]);
    // the result's timeline says how much of the makespan went waiting: from the first waiting event to the last
    const timeline = c.result(job.id).timeline;
    expect(timeline?.waited_s).toBeCloseTo((at[2] as number) - (at[0] as number), 9);
    expect(timeline?.waited_s).toBeGreaterThan(0);
  });

  it('says nothing while a worker can take it, even one busy with other jobs', async () => {
    const c = coordinator(new Coordinator(bus, undefined, { sweepMs: 5 }));
    await join(c, 'a');
    const big = c.submit({ prompts, candidates: 40, schedule: [...PAPER_SCHEDULE], seed: 4 });
    const small = c.submit({ prompts: [9], candidates: 4, schedule: [...PAPER_SCHEDULE], seed: 5 });
    const events: string[] = [];
    for (const j of [big, small]) c.watch(j.id, (e) => void events.push(String(e.event)));
    await Promise.all([c.whenEnded(big.id), c.whenEnded(small.id)]);
    expect(events).not.toContain('waiting');
    expect([c.result(big.id).timeline?.waited_s, c.result(small.id).timeline?.waited_s]).toEqual([0, 0]);
  });

  it('resumed by a restarted coordinator before any worker registers: listed, watched and waiting, then run by the first worker', async () => {
    const journal = new MemoryJournalStore();
    const gone = new Coordinator(bus, undefined, { journal, sweepMs: 20 });
    const lost = await join(gone, 'a');
    lost.gone = true;
    const job = gone.submit({ prompts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 6 });
    await vi.waitFor(() => expect(gone.list()[0]?.waiting).toMatch(/^no worker/), { timeout: 5000 });
    await gone.close(); // hands the job over to the journal
    const metrics = new PromMetricsSink('coordinator', { processMetrics: false });
    const gauge = async (): Promise<string | undefined> => (await metrics.render()).body.split('\n').find((l) => l.startsWith('ttsnap_jobs_waiting '));
    const c = coordinator(new Coordinator(bus, metrics, { journal, sweepMs: 20, workerTimeoutMs: 100 }));
    expect(await c.resume()).toEqual({ running: [job.id], refused: [] });
    const why = `resumed from the journal: waits for a worker of pool ${job.pool} to register`;
    expect(c.list()).toMatchObject([{ job: job.id, state: 'queued', waiting: why, prompts: 8, candidates_per_prompt: 20 }]);
    await vi.waitFor(async () => expect(await gauge()).toBe('ttsnap_jobs_waiting 1'), { timeout: 5000 });
    const waits: JobWaiting[] = [];
    c.watch(job.id, (e) => void (e.waiting && waits.push(e.waiting)));
    // the first coordinator's wait, then this one's
    expect(waits.map((w) => w.reason)).toEqual([`no worker of pool ${job.pool} is registered: start one`, why]);
    const serving = await join(c, 'b');
    const ended = await c.whenEnded(job.id);
    expect(ended.state).toBe('done');
    expect(waits.at(-1)).toEqual({ waiting: false, pool: job.pool, reason: '' });
    expect(serving.took).toHaveLength(8 * 20);
    await vi.waitFor(async () => expect(await gauge()).toBe('ttsnap_jobs_waiting 0'), { timeout: 5000 });
  });

  it('resumed before any worker registers, and cancelled then', async () => {
    const journal = new MemoryJournalStore();
    const gone = new Coordinator(bus, undefined, { journal, sweepMs: 20 });
    (await join(gone, 'a')).gone = true;
    const job = gone.submit({ prompts, candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 7 });
    await gone.close();
    const c = coordinator(new Coordinator(bus, undefined, { journal }));
    await c.resume();
    expect(c.cancel(job.id)).toBe('cancelled');
    expect(c.list()).toMatchObject([{ job: job.id, state: 'cancelled', waiting: '' }]);
    expect(journal.records.filter((r) => r.kind === 'end')).toMatchObject([{ job: job.id, state: 'cancelled' }]);
  });

  it('counts a quarantined worker out until its quarantine ends', async () => {
    const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '1' });
    const rt = new WorkerRuntime({ id: 'q', backend, bus });
    runtimes.push(rt);
    const pool = new WorkerPool(2);
    const slot = pool.add(new InProcessWorkerClient(rt), backend.info, 0);
    const ms = pool.quarantine('q', 1000);
    expect(whyNoWorker(pool.all(), slot.pool, false, 1000)).toBe(`every worker of pool ${slot.pool} that could take it is draining or quarantined: start another`);
    expect(whyNoWorker(pool.all(), slot.pool, false, 1000 + ms)).toBe('');
    expect(whyNoWorker(pool.all(), 'other@00000000', false, 1000)).toBe('no worker of pool other@00000000 is registered: start one');
  });
});

describe('the time a job waited', () => {
  it('counts every wait, the current one up to now, and a coordinator that resumes the job rebuilds it from the journal', async () => {
    const { spec, job, events: journaled, resume } = await journaledJob();
    expect(job.wait('no worker', 3000)).toBe(true);
    expect(job.wait('no worker', 3500)).toBe(false);
    expect(job.waitedSeconds(4000)).toBe(1);
    expect(job.wait('', 6000)).toBe(true);
    expect(job.wait('draining', 10_000)).toBe(true);
    expect(job.waitedSeconds(11_000)).toBe(4);
    const events = journaled();
    expect(events.map((e) => [e.event.event, e.event.at_s])).toEqual([['waiting', 2], ['waiting', 5], ['waiting', 9]]);
    const resumed = resume(events, 12_000);
    expect([resumed.waiting, resumed.waitedSeconds(11_000)]).toEqual(['draining', 4]);
    // an ended job waits no more: its last wait counts up to its end
    resumed.end('cancelled', 13_000);
    expect([resumed.waiting, resumed.waitedSeconds(20_000)]).toEqual(['', 6]);
    // a clock that starts at 0 (tests, a fake clock) counts a wait from 0 too
    const early = new Job('j2', spec, 0);
    early.wait('no worker', 0);
    expect(early.waitedSeconds(1500)).toBe(1.5);
  });
});

