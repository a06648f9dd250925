import { PAPER_SCHEDULE } from '../../core/engine/schedule.js';
import { Job } from '../../coordinator/job.js';
import { compileJobSpec, type JobSpec } from '../../coordinator/job-spec.js';
import { JOURNAL_SCHEMA, type EventRecord, type JournalRecord } from '../../coordinator/journal/records.js';
import { createTraceBackend } from '../../worker/backends/trace.js';
import { BASE, NARF } from '../integration/runtime/engine-alone.js';

/** A job whose journal records are kept, and how a coordinator that resumes it would rebuild it. */
export interface JournaledJob {
  readonly spec: JobSpec;
  readonly job: Job;
  readonly records: JournalRecord[];
  /** the event records journaled so far */
  events(): EventRecord[];
  /** a new Job rebuilt at `now` from these event records (as the next coordinator resumes it) */
  resume(events: readonly EventRecord[], now: number): Job;
}

/** Job 'j1' (trace prompts 1 and 2, 8 candidates each, the paper schedule), created at 1000 ms, journaled. */
export async function journaledJob(): Promise<JournaledJob> {
  const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '1' });
  const request = { prompts: [1, 2], candidates: 8, schedule: [...PAPER_SCHEDULE] };
  const spec = compileJobSpec(request, backend.info);
  const job = new Job('j1', spec, 1000);
  const records: JournalRecord[] = [];
  job.journal = (r) => void records.push(r);
  const specRecord = { v: JOURNAL_SCHEMA, kind: 'spec' as const, job: 'j1', requestId: 'r-1', createdAt: 1000, epoch: 'e1', request };
  return {
    spec,
    job,
    records,
    events: () => records.filter((r): r is EventRecord => r.kind === 'event'),
    resume(events, now) {
      const resumed = new Job('j1', spec, 1000);
      resumed.restore({ spec: specRecord, stages: new Map(), prompts: new Map(), events: [...events], end: null }, now);
      return resumed;
    },
  };
}
