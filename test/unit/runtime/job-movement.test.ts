// A job's movement counters (latent moves, workers lost, the steps lost workers may have run unscored) live in
// the coordinator's memory; the events that count them are journaled, so a coordinator that resumes the job
// rebuilds them instead of starting from zero.
import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../../../coordinator/journal/records.js';
import { resultJson } from '../../../coordinator/result.js';
import { journaledJob } from '../../support/journaled-job.js';

describe("a job's movement", () => {
  it('counts losses and moves as their events go out, and a resumed job rebuilds the counts from the journal', async () => {
    const { job, events: journaled, resume } = await journaledJob();
    job.loseWorker({ worker: 'w1', candidates: 5, unscored_steps: 11 }, 2000);
    job.moveCandidate({ prompt: 1, candidate: 3, from_worker: 'w2', to_worker: 'w3', bytes: 4096 }, 3000);
    job.moveCandidate({ prompt: 1, candidate: 4, from_worker: 'w2', to_worker: 'w3', bytes: 1024 }, 3000);
    job.loseWorker({ worker: 'w2', candidates: 2, unscored_steps: 0 }, 4000);
    const counts = { moves: 2, bytes: 5120, recomputed_steps: 0, workers_lost: 2, unscored_steps: 11 };
    expect(job.movement).toEqual(counts);
    const events = journaled();
    expect(events.map((e) => e.event.event)).toEqual(['worker_lost', 'moved', 'moved', 'worker_lost']);
    expect(events[0]?.event.worker_lost).toEqual({ worker: 'w1', candidates: 5, unscored_steps: 11 });
    const resumed = resume(events, 5000);
    expect(resumed.movement).toEqual(counts);
    // an older coordinator's worker_lost events have no unscored_steps: they count as none
    const oldEvent = { ...(events[0] as EventRecord), event: { ...(events[0] as EventRecord).event, worker_lost: { worker: 'w1', candidates: 5 } } };
    expect(resume([oldEvent], 5000).movement).toEqual({ ...counts, moves: 0, bytes: 0, workers_lost: 1, unscored_steps: 0 });
    // the result carries them
    resumed.end('cancelled', 6000);
    expect(resultJson({ movement: resumed.movement }, 0).movement).toEqual(counts);
  });
});
