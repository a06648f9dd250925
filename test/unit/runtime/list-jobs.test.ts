// ListJobs lists the jobs a coordinator holds, then those only its result store keeps (ended before it started,
// or dropped from its memory), and a watcher of such a job gets its done event: a restart must not make finished
// jobs vanish from `jobs list` or `jobs watch`.
import { describe, expect, it } from 'vitest';
import type { ResultStore } from '../../../core/bus/result-store.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { CoordinatorUnavailableError, JobNotFoundError } from '../../../coordinator/errors.js';
import { inProcessFixture } from '../../support/in-process.js';

describe('ListJobs', () => {
  const { bus, coordinator, join } = inProcessFixture();

  it('lists the jobs held first, then the stored ones it does not hold, up to the limit; the store is asked only for the rest', async () => {
    const listing = { job: 'j-old', state: 'done', prompts: 4, prompts_done: 4, candidates_per_prompt: 8, cost: 2, label: 'yesterday', pool: 'p@1', store_error: '', waiting: '' };
    const asked: { limit: number; except: string[] }[] = [];
    const kept = new Map<string, object>();
    const results: ResultStore = {
      put: async (job, r) => void kept.set(job, r.listing ?? {}),
      get: async () => null,
      delete: async () => false,
      list: async (limit, except) => {
        asked.push({ limit, except: [...except] });
        return [{ job: 'j-old', listing }];
      },
    };
    const c = coordinator(new Coordinator(bus, undefined, { results }));
    await join(c, 'a');
    const job = c.submit({ prompts: [0, 1], candidates: 8, schedule: [...PAPER_SCHEDULE], seed: 1, label: 'today' });
    await c.whenEnded(job.id);
    const held = { job: job.id, state: 'done', prompts: 2, prompts_done: 2, candidates_per_prompt: 8, label: 'today', store_error: '', waiting: '' };
    // what the store keeps of the ended job to list it by once no coordinator holds it: what ListJobs shows of it now
    expect(kept.get(job.id)).toEqual(c.list()[0]);
    const listed = await c.listJobs(5);
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject(held);
    expect(listed[1]).toEqual(listing);
    expect(asked).toEqual([{ limit: 4, except: [job.id] }]);
    expect((await c.listJobs(1)).map((j) => j.job)).toEqual([job.id]);
    expect(asked).toHaveLength(1);
  });

  it('a watcher of a job only the store keeps gets its done event from the stored summary; an unknown job is NOT_FOUND', async () => {
    const summary = { job: 'j-old', state: 'cancelled', error: 'deadline: still running 60 s after submission', ledger: { cost: 2 }, timeline: { makespan_s: 61.5 } };
    let broken = false;
    const results: ResultStore = {
      put: async () => {},
      get: async (job) => {
        if (broken) throw new Error('no JetStream');
        return job === 'j-old' ? { summary, prompts: [], total: 3 } : null;
      },
      delete: async () => false,
      list: async () => [],
    };
    const c = coordinator(new Coordinator(bus, undefined, { results }));
    expect(c.follows('j-old')).toBe(false);
    expect(await c.storedDone('j-old')).toEqual({ job: 'j-old', at_s: 61.5, event: 'done', done: { state: 'cancelled', error: summary.error, result: summary, prompts: 3 }, seq: 0 });
    await expect(c.storedDone('nope')).rejects.toBeInstanceOf(JobNotFoundError);
    broken = true;
    await expect(c.storedDone('j-old')).rejects.toBeInstanceOf(CoordinatorUnavailableError);
  });
});
