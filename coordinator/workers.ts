import type { BackendInfo } from '../core/contract/backend-info.js';
import type { WorkerClient } from '../core/contract/worker-client.js';

/** The coordinator's view of one worker. */
export interface WorkerSlot {
  readonly id: string;
  readonly client: WorkerClient;
  readonly info: BackendInfo;
  /** candidates sent and not yet scored */
  outstanding: number;
  /** most candidates in flight at once (queueFactor x maxBatch): enough for full batches, no more */
  readonly limit: number;
  draining: boolean;
  /** takes no work yet: it is dropping candidates of resumed jobs that an earlier coordinator gave it */
  fenced: boolean;
  /** calls that failed in a row (a score from it clears them); enough of them quarantine it */
  faults: number;
  /** ms timestamp before which it takes no work (quarantine); 0 = none */
  quarantinedUntil: number;
  /** ms timestamp of the last heartbeat (remote workers); Infinity for in-process ones */
  lastSeen: number;
  /** busy seconds and outstanding samples for the busy-ratio gauge */
  busySamples: number;
  busyTicks: number;
}

/** Two backends can serve one job only if they replay or run the same thing. */
export function compatible(a: BackendInfo, b: BackendInfo): string | null {
  if (a.backend !== b.backend) return `backend ${b.backend} differs from ${a.backend}`;
  if (a.model !== b.model) return `model ${b.model} differs from ${a.model}`;
  if (a.steps !== b.steps) return `${b.steps} steps differ from ${a.steps}`;
  if (a.tracePrompts !== b.tracePrompts || a.traceCandidates !== b.traceCandidates) return 'trace shape differs';
  if (a.rewards.join() !== b.rewards.join()) return `rewards ${b.rewards.join(',')} differ from ${a.rewards.join(',')}`;
  return null;
}

/** Registered workers; the first one fixes the backend every later one must match. */
export class WorkerPool {
  private readonly slots = new Map<string, WorkerSlot>();
  private reference: BackendInfo | null = null;
  /** quarantines by worker id: they outlive the slot, so a worker that re-registers at once stays out */
  private readonly quarantined = new Map<string, { until: number; times: number }>();

  constructor(private readonly queueFactor: number) {}

  get info(): BackendInfo | null {
    return this.reference;
  }

  get size(): number {
    return this.slots.size;
  }

  all(): WorkerSlot[] {
    return [...this.slots.values()];
  }

  get(id: string): WorkerSlot | undefined {
    return this.slots.get(id);
  }

  /** Adds (or refreshes) a worker; returns the refusal reason when its backend does not match. */
  add(client: WorkerClient, info: BackendInfo, now: number): { slot?: WorkerSlot; refused?: string } {
    const known = this.slots.get(client.id);
    if (known) {
      known.lastSeen = Math.max(known.lastSeen, now);
      return { slot: known };
    }
    const refused = this.reference ? compatible(this.reference, info) : null;
    if (refused) return { refused };
    this.reference ??= info;
    const slot: WorkerSlot = {
      id: client.id,
      client,
      info,
      outstanding: 0,
      limit: Math.max(1, Math.round(this.queueFactor * info.maxBatch)),
      draining: false,
      fenced: false,
      faults: 0,
      quarantinedUntil: this.quarantined.get(client.id)?.until ?? 0,
      lastSeen: now,
      busySamples: 0,
      busyTicks: 0,
    };
    this.slots.set(client.id, slot);
    return { slot };
  }

  remove(id: string): WorkerSlot | undefined {
    const slot = this.slots.get(id);
    this.slots.delete(id);
    slot?.client.close();
    return slot;
  }

  /**
   * Keeps a worker out for 5 s, doubling with each quarantine up to 5 min; afterwards it gets work again (the
   * next faults, if it is still broken, send it back for longer). Returns the quarantine's length in ms.
   */
  quarantine(id: string, now: number): number {
    const times = (this.quarantined.get(id)?.times ?? 0) + 1;
    const ms = Math.min(300_000, 5000 * 2 ** (times - 1));
    this.quarantined.set(id, { until: now + ms, times });
    const slot = this.slots.get(id);
    if (slot) slot.quarantinedUntil = now + ms;
    return ms;
  }

  /** Workers that take work now (`now` decides which quarantines are over), least loaded first. */
  open(now: number): WorkerSlot[] {
    return this.all()
      .filter((s) => !s.draining && !s.fenced && s.quarantinedUntil <= now && s.outstanding < s.limit)
      .sort((a, b) => a.outstanding / a.limit - b.outstanding / b.limit);
  }
}
