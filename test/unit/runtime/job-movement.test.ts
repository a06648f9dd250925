// A job's movement counters (latent moves, workers lost, the steps lost workers may have run unscored) live in
// the coordinator's memory; the events that count them are journaled, so a coordinator that resumes the job
// rebuilds them instead of starting from zero.
import { describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { Job } from '../../../coordinator/job.js';
import { compileJobSpec } from '../../../coordinator/job-spec.js';
import { JOURNAL_SCHEMA, type EventRecord, type JournalRecord } from '../../../coordinator/journal/records.js';
import { resultJson } from '../../../coordinator/result.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';

describe("a job's movement", () => {
  it('counts losses and moves as their events go out, and a resumed job rebuilds the counts from the journal', async () => {
    const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '1' });
    const request = { prompts: [1, 2], candidates: 8, schedule: [...PAPER_SCHEDULE] };
    const spec = compileJobSpec(request, backend.info);
    const job = new Job('j1', spec, 1000);
    const records: JournalRecord[] = [];
    job.journal = (r) => void records.push(r);
    job.loseWorker({ worker: 'w1', candidates: 5, unscored_steps: 11 }, 2000);
    job.moveCandidate({ prompt: 1, candidate: 3, from_worker: 'w2', to_worker: 'w3', bytes: 4096 }, 3000);
    job.moveCandidate({ prompt: 1, candidate: 4, from_worker: 'w2', to_worker: 'w3', bytes: 1024 }, 3000);
    job.loseWorker({ worker: 'w2', candidates: 2, unscored_steps: 0 }, 4000);
    const counts = { moves: 2, bytes: 5120, recomputed_steps: 0, workers_lost: 2, unscored_steps: 11 };
    expect(job.movement).toEqual(counts);
    const events = records.filter((r): r is EventRecord => r.kind === 'event');
    expect(events.map((e) => e.event.event)).toEqual(['worker_lost', 'moved', 'moved', 'worker_lost']);
    expect(events[0]?.event.worker_lost).toEqual({ worker: 'w1', candidates: 5, unscored_steps: 11 });
    const resumed = new Job('j1', spec, 1000);
    const specRecord = { v: JOURNAL_SCHEMA, kind: 'spec' as const, job: 'j1', requestId: '', createdAt: 1000, epoch: 'e1', request };
    resumed.restore({ spec: specRecord, stages: new Map(), prompts: new Map(), events, end: null }, 5000);
    expect(resumed.movement).toEqual(counts);
    // an older coordinator's worker_lost events have no unscored_steps: they count as none
    const older = new Job('j1', spec, 1000);
    const oldEvent = { ...(events[0] as EventRecord), event: { ...(events[0] as EventRecord).event, worker_lost: { worker: 'w1', candidates: 5 } } };
    older.restore({ spec: specRecord, stages: new Map(), prompts: new Map(), events: [oldEvent], end: null }, 5000);
    expect(older.movement).toEqual({ ...counts, moves: 0, bytes: 0, workers_lost: 1, unscored_steps: 0 });
    // the result carries them
    resumed.end('cancelled', 6000);
    expect(resultJson({ movement: resumed.movement }, 0).movement).toEqual(counts);
  });
});
