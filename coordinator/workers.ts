import { createHash } from 'node:crypto';
import type { BackendInfo } from '../core/contract/backend-info.js';
import type { WorkerClient } from '../core/contract/worker-client.js';
import { ValidationError } from '../core/errors.js';
import { CoordinatorUnavailableError } from './errors.js';

/** The coordinator's view of one worker. */
export interface WorkerSlot {
  readonly id: string;
  readonly client: WorkerClient;
  readonly info: BackendInfo;
  /** id of its backend pool (workers run a job only if their pool is the job's) */
  readonly pool: string;
  /** candidates sent and not yet scored (change it with placed(): byJob follows it) */
  outstanding: number;
  /** those of each job, by job id (a job is absent with none) */
  readonly byJob: Map<string, number>;
  /**
   * most candidates in flight at once (queueFactor x maxBatch: enough for full batches, no more; soloQueueFactor x
   * maxBatch while its pool runs one job alone with a backlog, see WorkerPool.setSolo)
   */
  limit: number;
  /**
   * free places at which it gets work again: half its limit, so that each fill sends it a batch of work in one
   * request, not a candidate per score, while the other half keeps it busy meanwhile
   */
  refillAt: number;
  draining: boolean;
  /** takes no work yet: it is dropping candidates of resumed jobs that an earlier coordinator gave it */
  fenced: boolean;
  /** calls that failed in a row (a score from it clears them); enough of them quarantine it */
  faults: number;
  /** ms timestamp before which it takes no work (quarantine); 0 = none */
  quarantinedUntil: number;
  /**
   * ms timestamp of the last sign of life: a heartbeat, an answer on its Batch stream, a score (remote workers);
   * Infinity for in-process ones
   */
  lastSeen: number;
  /** ms timestamp of its last score (0 = none yet): a full worker whose scores stopped gets no job's share */
  lastScoreAt: number;
  /** the worker's busy seconds since it started, as it last reported them (heartbeat or score) */
  busySeconds: number;
  /** busySeconds and the time when the busy-ratio gauge last sampled them (at 0 = never) */
  busySampledAt: number;
  busySampledSeconds: number;
}

/** Whether a worker takes work at `now`: not draining, not fenced, out of quarantine (full or not). */
function takesWork(s: WorkerSlot, now: number): boolean {
  return !s.draining && !s.fenced && s.quarantinedUntil <= now;
}

/** Counts `n` more (or, negative, fewer) of `job`'s candidates in flight on `slot`. */
export function placed(slot: WorkerSlot, job: string, n: number): void {
  slot.outstanding += n;
  const now = (slot.byJob.get(job) ?? 0) + n;
  if (now > 0) slot.byJob.set(job, now);
  else slot.byJob.delete(job);
}

/**
 * The worker answered (its Batch stream, a score): it is alive and serving. Counted as a heartbeat, so a busy
 * worker is never lost for a late heartbeat, and it may skip heartbeats while it answers (worker-process.ts).
 */
export function heardFrom(slot: WorkerSlot, now: number): void {
  if (now > slot.lastSeen) slot.lastSeen = now;
}

/**
 * Workers whose backends replay or run the same thing: same backend, model or trace, steps, trace shape and
 * rewards. A job runs on one pool; a worker with another backend (a new model rolling out) forms its own.
 */
export interface BackendPool {
  /** `name@hash`: the same backend gets the same id from every coordinator (the job journal keeps it) */
  readonly id: string;
  /** the model bundle or trace name, for people (two pools may share one) */
  readonly name: string;
  readonly info: BackendInfo;
}

/** The pool of a backend: the fields that decide whether two backends can serve one job, hashed. */
export function backendPool(info: BackendInfo): BackendPool {
  const fingerprint = JSON.stringify([info.backend, info.model, info.steps, info.tracePrompts, info.traceCandidates, info.rewards]);
  const hash = createHash('sha256').update(fingerprint).digest('hex').slice(0, 8);
  return { id: `${info.model}@${hash}`, name: info.model, info };
}

/** Whether a worker applies sampling settings per job and prompt (an older one runs its own). */
export function appliesSampling(info: BackendInfo): boolean {
  return info.sampling?.per_candidate === true;
}

/**
 * Why no worker of `pool` can take a job's candidates, and what would help ('' when one can): none registered,
 * (a job that sets sampling settings) only older ones that would run their own, or only ones draining or
 * quarantined. Workers busy with other jobs can take it: fair share, not a wait.
 */
export function whyNoWorker(slots: Iterable<WorkerSlot>, pool: string, setsSampling: boolean, now: number): string {
  let registered = 0;
  let applying = 0;
  let open = 0;
  for (const s of slots) {
    if (s.pool !== pool) continue;
    registered++;
    if (setsSampling && !appliesSampling(s.info)) continue;
    applying++;
    if (!s.draining && s.quarantinedUntil <= now) open++;
  }
  if (registered === 0) return `no worker of pool ${pool} is registered: start one`;
  if (applying === 0) return `it sets sampling settings and no registered worker of pool ${pool} applies them (older workers would run their own): start or upgrade one`;
  if (open === 0) return `every worker of pool ${pool} that could take it is draining or quarantined: start another`;
  return '';
}

/**
 * What every one of a pool's registered workers applies (the first one's info otherwise): sampling limits only
 * where all report them, per-candidate settings and guidance-priced steps only where all do, the lowest
 * max_steps. A pool mixing versions (a rolling upgrade) used to take the word of the first worker that ever
 * registered: settings that older workers ignore were accepted, and each prompt's guidance priced or not by
 * whichever worker came first.
 */
export function sharedInfo(first: BackendInfo, ...others: readonly BackendInfo[]): BackendInfo {
  const workers = [first, ...others];
  const { sampling, ...rest } = first;
  if (!sampling || workers.some((w) => !w.sampling)) return rest;
  const all = workers.map((w) => w.sampling as NonNullable<BackendInfo['sampling']>);
  // 0 = not said (the default limit applies): the lowest of those said
  const said = all.map((l) => l.max_steps).filter((m) => m > 0);
  return {
    ...rest,
    sampling: {
      ...sampling,
      per_candidate: all.every((l) => l.per_candidate),
      guidance_doubles: all.every((l) => l.guidance_doubles),
      max_steps: said.length > 0 ? Math.min(...said) : 0,
    },
  };
}

/** Registered workers, each in the pool of its backend. */
export class WorkerPool {
  private readonly slots = new Map<string, WorkerSlot>();
  /** every pool seen, by id (a pool whose workers all left stays known: its jobs wait for it) */
  private readonly pools = new Map<string, BackendPool>();
  /** quarantines by worker id: they outlive the slot, so a worker that re-registers at once stays out */
  private readonly quarantined = new Map<string, { until: number; times: number }>();

  /**
   * pools whose workers queue soloQueueFactor batches: one job has the pool to itself, with more candidates
   * waiting than those queues hold
   */
  private readonly solo = new Set<string>();

  constructor(
    private readonly queueFactor: number,
    /** batches queued per worker while one job has its pool to itself with a backlog (setSolo); queueFactor = never deeper */
    private readonly soloQueueFactor = queueFactor,
  ) {}

  /**
   * Sets how deep a pool's workers queue: soloQueueFactor batches while one job alone has the pool and more
   * candidates wait than those queues hold (`solo`), queueFactor otherwise. A deeper queue keeps a busy worker's
   * scores on its coarser grid and halves the refills, so the coordinator handles about half the messages per
   * candidate; its cost is later stage barriers, which only that job would feel, and it is throughput-bound.
   * As soon as a second job runs there (or the backlog fits), the queues go back: latency matters again. A
   * worker above its new limit gets nothing until it is below it. True when that changed the pool's depth.
   */
  setSolo(pool: string, solo: boolean): boolean {
    if (this.soloQueueFactor === this.queueFactor || solo === this.solo.has(pool)) return false;
    if (solo) this.solo.add(pool);
    else this.solo.delete(pool);
    for (const s of this.slots.values()) if (s.pool === pool) this.resize(s, solo);
    return true;
  }

  /** Batches a pool's workers queue now (queueFactor, or soloQueueFactor while setSolo holds). */
  depth(pool: string): number {
    return this.solo.has(pool) ? this.soloQueueFactor : this.queueFactor;
  }

  /** Candidates a pool's workers queue together at the solo depth: a backlog beyond this keeps them full. */
  soloCapacity(pool: string): number {
    let n = 0;
    for (const s of this.slots.values()) if (s.pool === pool) n += this.limitOf(s.info, this.soloQueueFactor);
    return n;
  }

  private limitOf(info: BackendInfo, factor: number): number {
    return Math.max(1, Math.round(factor * info.maxBatch));
  }

  private resize(slot: WorkerSlot, solo: boolean): void {
    slot.limit = this.limitOf(slot.info, solo ? this.soloQueueFactor : this.queueFactor);
    slot.refillAt = Math.ceil(slot.limit / 2);
  }

  /** Pools with at least one registered worker, each with what all of its registered workers apply (sharedInfo). */
  serving(): BackendPool[] {
    const infos = new Map<string, BackendInfo[]>();
    for (const s of this.slots.values()) {
      const list = infos.get(s.pool);
      if (list) list.push(s.info);
      else infos.set(s.pool, [s.info]);
    }
    return [...this.pools.values()].flatMap((p) => {
      const [first, ...others] = infos.get(p.id) ?? [];
      return first ? [{ ...p, info: sharedInfo(first, ...others) }] : [];
    });
  }

  /** A pool by id, if any worker of it ever registered. */
  pool(id: string): BackendPool | undefined {
    return this.pools.get(id);
  }

  /**
   * The pool a job asks for (SubmitJob.pool: a name or an id; empty = the only pool serving). Throws
   * ValidationError naming the field and the pools there are, or CoordinatorUnavailableError when none serves.
   */
  resolve(requested: string): BackendPool {
    const serving = this.serving();
    if (serving.length === 0) throw new CoordinatorUnavailableError('no worker has registered yet');
    const list = serving.map((p) => p.id).join(' | ');
    if (!requested) {
      if (serving.length === 1) return serving[0] as BackendPool;
      throw new ValidationError('pool', `${serving.length} worker pools serve and the job names none`, list);
    }
    if (this.pools.has(requested)) {
      const byId = serving.find((p) => p.id === requested);
      if (!byId) throw new CoordinatorUnavailableError(`no worker of pool ${requested} is registered`);
      return byId;
    }
    const named = serving.filter((p) => p.name === requested);
    if (named.length === 1) return named[0] as BackendPool;
    throw new ValidationError('pool', named.length > 1 ? `'${requested}' names ${named.length} pools` : `no pool '${requested}'`, list);
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

  /** Adds (or refreshes) a worker, in the pool of its backend (a new pool when no worker had that backend). */
  add(client: WorkerClient, info: BackendInfo, now: number): WorkerSlot {
    const known = this.slots.get(client.id);
    if (known) {
      known.lastSeen = Math.max(known.lastSeen, now);
      return known;
    }
    const pool = backendPool(info);
    if (!this.pools.has(pool.id)) this.pools.set(pool.id, pool);
    const slot: WorkerSlot = {
      id: client.id,
      client,
      info,
      pool: pool.id,
      outstanding: 0,
      byJob: new Map(),
      limit: 0,
      refillAt: 0,
      draining: false,
      fenced: false,
      faults: 0,
      quarantinedUntil: this.quarantined.get(client.id)?.until ?? 0,
      lastSeen: now,
      lastScoreAt: 0,
      busySeconds: 0,
      busySampledAt: 0,
      busySampledSeconds: 0,
    };
    this.resize(slot, this.solo.has(pool.id));
    this.slots.set(client.id, slot);
    return slot;
  }

  /** Whether some worker can give up survivors: one draining (evacuate), or draining or full (move; placement.ts). */
  hasSource(kind: 'evacuate' | 'move'): boolean {
    for (const s of this.slots.values()) if (s.draining || (kind === 'move' && s.outstanding >= s.limit)) return true;
    return false;
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

  /** A pool's workers that take work now, full or not (`now` decides which quarantines are over). */
  taking(pool: string, now: number): WorkerSlot[] {
    const out: WorkerSlot[] = [];
    for (const s of this.slots.values()) if (s.pool === pool && takesWork(s, now)) out.push(s);
    return out;
  }

  /**
   * Workers that take work now (`now` decides which quarantines are over; at least `refillAt` places free), least
   * loaded first. One pass over the slots; only those open are sorted (few, past the start: a worker reopens
   * as each of its batches finishes).
   */
  open(now: number): WorkerSlot[] {
    const out: WorkerSlot[] = [];
    for (const s of this.slots.values()) {
      if (takesWork(s, now) && s.limit - s.outstanding >= s.refillAt) out.push(s);
    }
    return out.length > 1 ? out.sort((a, b) => a.outstanding / a.limit - b.outstanding / b.limit) : out;
  }
}
