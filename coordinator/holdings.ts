import type { CandidateRef, HeldCandidate } from '../core/contract/candidates.js';
import type { Job } from './job.js';
import type { WorkerSlot } from './workers.js';

export interface HoldingsContext {
  /** this coordinator's epoch: candidates held under it were reset when the worker was counted lost */
  readonly epoch: string;
  readonly job: (id: string) => Job | undefined;
  /** jobs this coordinator resumed from the journal */
  readonly resumed: ReadonlySet<string>;
  readonly now: number;
}

export interface SortedHoldings {
  /** candidates kept where they are: their prompt's stage continues from their step */
  readonly adopted: number;
  /** what the worker drops: whole jobs (orphans: unknown here, or ended) and single candidates */
  readonly releaseJobs: readonly string[];
  readonly releaseRefs: ReadonlyMap<string, CandidateRef[]>;
}

/**
 * Sorts what a worker that registers holds. A candidate of a job this coordinator resumed, held under another
 * coordinator's epoch (the one that crashed), of the job's pool, and still usable for its prompt's current stage
 * is adopted: no recomputation. Everything else is released: jobs this coordinator does not know or has ended
 * (orphans), and copies it no longer counts on (held under its own epoch by a worker it counted lost).
 */
export function sortHoldings(slot: WorkerSlot, held: readonly HeldCandidate[], ctx: HoldingsContext): SortedHoldings {
  let adopted = 0;
  const releaseJobs = new Set<string>();
  const releaseRefs = new Map<string, CandidateRef[]>();
  for (const h of held) {
    const job = ctx.job(h.job);
    if (!job || job.ended) {
      releaseJobs.add(h.job);
      continue;
    }
    const adoptable = ctx.resumed.has(job.id) && h.epoch !== ctx.epoch && job.pool === slot.pool;
    if (adoptable && job.adopt(h, slot.id, ctx.now)) {
      adopted++;
      continue;
    }
    const refs = releaseRefs.get(h.job) ?? [];
    refs.push({ prompt: h.prompt, candidate: h.candidate });
    releaseRefs.set(h.job, refs);
  }
  return { adopted, releaseJobs: [...releaseJobs], releaseRefs };
}
