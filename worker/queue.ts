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
 * FIFO of work items with at most one item per candidate. Advancing always takes the oldest items first so
 * that a segment, once started, finishes soon: the coordinator's barrier for that prompt closes early.
 */
export class WorkQueue {
  private readonly items = new Map<CandidateKey, WorkItem>();

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

  count(pred: (it: WorkItem) => boolean, limit = Infinity): number {
    let n = 0;
    for (const it of this.items.values()) if (pred(it) && ++n >= limit) break;
    return n;
  }
}
