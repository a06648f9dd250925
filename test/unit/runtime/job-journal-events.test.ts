// A prompt_done event is journaled as its position: the prompt record beside it holds the result, and a
// coordinator that resumes the job replays the event with the result from there (as it does from memory).
import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../core/generated/ttsnap/v1/JobEvent.js';
import type { PromptResult } from '../../../core/generated/ttsnap/v1/PromptResult.js';
import { journaledJob } from '../../support/journaled-job.js';

describe("a job's journaled events", () => {
  it('carry a prompt_done event as its position; its live and replayed watchers get the whole result', async () => {
    const { job, events, resume } = await journaledJob();
    const seen: JobEvent[] = [];
    job.watch((e) => void seen.push(e));
    const ledger = { candidates: 8, denoise_steps: 0, reward_calls: {}, cost: 0, stages: [] };
    const result: PromptResult = { prompt: 2, position: 1, winner: { candidate: 5, seed: 77, rewards: { narf: 0.5 } }, explored: [0, 1, 2], ledger };
    job.finished.set(1, result, ledger);
    job.emit({ event: 'prompt_done', prompt_done: result }, 1500);
    expect(events().map((r) => r.event)).toEqual([{ job: 'j1', at_s: 0.5, event: 'prompt_done', prompt_done: { position: 1 }, seq: 1 }]);
    expect(seen).toEqual([{ job: 'j1', at_s: 0.5, event: 'prompt_done', prompt_done: result, seq: 1 }]);
    const resumed = resume(events(), 2000);
    resumed.finished.set(1, result, ledger);
    const replayed: JobEvent[] = [];
    resumed.watch((e) => void replayed.push(e));
    expect(replayed).toEqual(seen);
  });
});

describe('events past the replay cap', () => {
  it('reach live watchers but are neither kept nor journaled; those kept past it are, and a resumed job replays what the first kept', async () => {
    const { job, events, resume } = await journaledJob();
    const seen: JobEvent[] = [];
    job.watch((e) => void seen.push(e));
    // a pruned event's size counts 8 bytes an id (and 160 for the rest): 105 of 10,000 ids pass the 8 MiB cap
    const ids = Array.from({ length: 5000 }, (_, i) => i);
    const pruned = (n: number): void => job.emit({ event: 'pruned', pruned: { prompt: 1, step: n, kept: ids, pruned: ids } }, 1000 + n);
    for (let n = 0; n < 110; n++) pruned(n);
    job.emit({ event: 'budget', budget: { cost: 1, planned: 2, prompts_done: 0, prompts: 2 } }, 1200);
    pruned(110);
    expect(seen).toHaveLength(112);
    const journaled = events().map((r) => r.seq);
    const kept = Array.from({ length: 104 }, (_, i) => i + 1);
    expect(journaled).toEqual([...kept, 111]);
    const late: number[] = [];
    job.watch((e) => void late.push(e.seq ?? 0));
    expect(late).toEqual([...kept, 111]);
    const replayed: number[] = [];
    resume(events(), 2000).watch((e) => void replayed.push(e.seq ?? 0));
    expect(replayed).toEqual(late);
  });
});
