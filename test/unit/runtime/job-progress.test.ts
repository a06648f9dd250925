// A running job tells its live watchers how far its budget got as its stages close, at most once a second,
// so that a remote `search` or `jobs watch` shows the cost, the plan and the time left before the first prompt
// finishes. Those budget events are for live watchers only: never kept, journaled or replayed.
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../core/generated/ttsnap/v1/JobEvent.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { inProcessFixture } from '../../support/in-process.js';
import { journaledJob } from '../../support/journaled-job.js';

describe("a running job's progress", () => {
  const { bus, coordinator, join } = inProcessFixture();

  it('goes to live watchers at most once a second, with the seq of the event before it, and is not kept or journaled', async () => {
    const { spec, job, records } = await journaledJob();
    job.progress(1100); // nobody watches: nothing to say
    const seen: JobEvent[] = [];
    job.watch((e) => void seen.push(e));
    job.emit({ event: 'stage', stage: { prompt: 1, step: 6, alive: 3, final: false } }, 1200);
    job.progress(1200);
    job.progress(2199); // within a second of the last
    job.progress(2200);
    const planned = spec.planned.cost;
    expect(planned).toBeGreaterThan(0);
    const budget = { cost: 0, planned, prompts_done: 0, prompts: 2 };
    expect(seen).toEqual([
      { job: 'j1', at_s: 0.2, event: 'stage', stage: { prompt: 1, step: 6, alive: 3, final: false }, seq: 1 },
      { job: 'j1', at_s: 0.2, event: 'budget', budget, seq: 1 },
      { job: 'j1', at_s: 1.2, event: 'budget', budget, seq: 1 },
    ]);
    expect(records.map((r) => r.kind)).toEqual(['event']);
    expect(job.events.map((e) => e.event)).toEqual(['stage']);
    // a prompt's budget event is kept as before, and counts as the last one said
    job.emitBudget(2500);
    job.progress(3400);
    expect(seen.map((e) => [e.event, e.seq])).toEqual([['stage', 1], ['budget', 1], ['budget', 1], ['budget', 2]]);
    expect(job.events.map((e) => e.event)).toEqual(['stage', 'budget']);
  });

  it('reaches a watcher before the first prompt finishes; a late watcher replays only the kept events', async () => {
    const c = coordinator(new Coordinator(bus));
    await join(c, 'a');
    const job = c.submit({ prompts: [0, 1, 2, 3], candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 3 });
    const live: JobEvent[] = [];
    c.watch(job.id, (e) => void live.push(e));
    await c.whenEnded(job.id);
    const firstDone = live.findIndex((e) => e.event === 'prompt_done');
    const early = live.slice(0, firstDone).filter((e) => e.event === 'budget');
    expect(early.length).toBeGreaterThanOrEqual(1);
    expect(early[0]?.budget).toMatchObject({ prompts_done: 0, prompts: 4 });
    expect(Number(early[0]?.budget?.planned)).toBeGreaterThan(0);
    const replayed: JobEvent[] = [];
    c.watch(job.id, (e) => void replayed.push(e));
    const budgets = replayed.filter((e) => e.event === 'budget').map((e) => Number(e.budget?.prompts_done));
    expect(budgets).toEqual([1, 2, 3, 4]);
    expect(replayed.map((e) => e.seq)).toEqual(replayed.map((_, i) => i + 1));
  });
});
