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
