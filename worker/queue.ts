import type { CandidateKey } from '../core/contract/candidates.js';
import type { RewardSpec } from '../core/contract/backend-info.js';

/** One queued segment: advance a candidate to `toStep`, then score it with `rewards`. */
export interface WorkItem {
  readonly key: CandidateKey;
  readonly job: string;
  readonly prompt: number;
  readonly candidate: number;
  readonly toStep: number;
  readonly rewards: readonly RewardSpec[];
  /** signature of `rewards`, so that items scored together share one backend call */
  readonly rewardsId: string;
}

export function rewardsId(rewards: readonly RewardSpec[]): string {
  return rewards.map((r) => `${r.name}${r.noiseAware ? '~' : ''}`).join(',');
}

/**
 * FIFO of work items with at most one item per candidate. Advancing takes each job's oldest items first so
 * that a segment, once started, finishes soon: the coordinator's barrier for that prompt closes early.
 * Between jobs a batch is shared (takeByJobTurns): a job that arrives behind another's queued batches gets
 * its share of the next batch instead of waiting for them to drain.
 */
export class WorkQueue {
  private readonly items = new Map<CandidateKey, WorkItem>();
  /** the job whose item led the last batch taken by turns: the next batch starts with the job after it */
  private lastLead: string | undefined;

  get size(): number {
    return this.items.size;
  }

  has(key: CandidateKey): boolean {
    return this.items.has(key);
  }

  get(key: CandidateKey): WorkItem | undefined {
    return this.items.get(key);
  }

  push(item: WorkItem): void {
    this.items.delete(item.key);
    this.items.set(item.key, item);
  }

  delete(key: CandidateKey): boolean {
    return this.items.delete(key);
  }

  /**
   * True when `job`'s queued items are behind their targets by at least `steps` denoise steps in all (stops
   * counting there); `stepOf` says where each candidate is (unknown: not counted).
   */
  behindAtLeast(job: string, steps: number, stepOf: (key: CandidateKey) => number | undefined): boolean {
    if (steps <= 0) return true;
    let k = 0;
    for (const it of this.items.values()) {
      if (it.job !== job) continue;
      const at = stepOf(it.key);
      if (at !== undefined && at < it.toStep && (k += it.toStep - at) >= steps) return true;
    }
    return false;
  }

  /** Removes every item of a job (or the given keys). */
  dropJob(job: string): number {
    let n = 0;
    for (const [k, it] of this.items) if (it.job === job && this.items.delete(k)) n++;
    return n;
  }

  /** Oldest items for which `pred` holds, at most `limit`. */
  take(limit: number, pred: (it: WorkItem) => boolean): WorkItem[] {
    const out: WorkItem[] = [];
    for (const it of this.items.values()) {
      if (out.length >= limit) break;
      if (pred(it)) out.push(it);
    }
    return out;
  }

  /**
   * At most `limit` items for which `pred` holds, jobs taking turns: one item of each job per round, each
   * job's oldest first, jobs in the order of their oldest queued item, the round starting with the job after
   * the one that led the previous batch (so that with more jobs than places in a batch every job gets its
   * turn). Two jobs with work behind each get half of every batch, however deep the other's queue.
   */
  takeByJobTurns(limit: number, pred: (it: WorkItem) => boolean): WorkItem[] {
    const byJob = new Map<string, WorkItem[]>();
    for (const it of this.items.values()) {
      if (!pred(it)) continue;
      const own = byJob.get(it.job);
      if (!own) byJob.set(it.job, [it]);
      else if (own.length < limit) own.push(it);
    }
    const jobs = [...byJob.keys()];
    if (jobs.length === 0) return [];
    const start = (jobs.indexOf(this.lastLead ?? '') + 1) % jobs.length;
    this.lastLead = jobs[start];
    const out: WorkItem[] = [];
    for (let round = 0; out.length < limit; round++) {
      let took = false;
      for (let j = 0; j < jobs.length && out.length < limit; j++) {
        const it = byJob.get(jobs[(start + j) % jobs.length] as string)?.[round];
        if (it) {
          out.push(it);
          took = true;
        }
      }
      if (!took) break;
    }
    return out;
  }

  count(pred: (it: WorkItem) => boolean, limit = Infinity): number {
    let n = 0;
    for (const it of this.items.values()) if (pred(it) && ++n >= limit) break;
    return n;
  }
}
