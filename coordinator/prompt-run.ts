import type { Accounting } from '../core/engine/accounting.js';
import type { CostModel } from '../core/engine/cost-model.js';
import { LedgerBook, type Ledger } from '../core/engine/ledger.js';
import type { Policy } from '../core/engine/policy.js';
import { PromptSearch, type PruneOutcome, type ScoreRequest } from '../core/engine/prompt-search.js';
import type { Score } from '../core/bus/score-bus.js';
import type { RewardSpec } from '../core/contract/backend-info.js';
import { numbers } from '../core/numbers.js';
import { SlotQueue } from './slot-queue.js';

/** Key of candidates that no worker holds (new, or lost with their worker). */
export const UNPLACED = '';

/** What one accepted score completed, for the ledger and the scheduler. */
export interface Completed {
  readonly candidate: number;
  readonly worker: string;
  readonly denoise: number;
  readonly latencyMs: number;
}

/**
 * One prompt of a job: drives the engine's PromptSearch through its stages. Tracks where each candidate's
 * state lives, which candidates still await dispatch in the current stage (`pending`, by holder), the
 * scores received (first valid score wins, anything else is ignored) and the executed-work ledger.
 */
export class PromptRun {
  readonly search: PromptSearch;
  readonly book: LedgerBook;
  /** candidates of the current stage not yet dispatched, by the worker holding them (UNPLACED = none) */
  readonly pending = new Map<string, Set<number>>();
  request!: ScoreRequest;
  rewards: readonly RewardSpec[] = [];
  stageStartedAt = 0;
  firstScoreAt = 0;
  /*
   * Each candidate's state, in arrays indexed by its slot (its position in `explored`) rather than two objects
   * per candidate in a map: a job admits prompts as it goes, and their per-candidate objects, alive for the
   * prompt's whole search, were the largest part of what the coordinator's garbage collector copied and marked.
   */
  /**
   * the lowest id when the explored ids are a range in any order (a trace's candidates are drawn shuffled): slot =
   * id - first; else -1, and `slotById` maps them
   */
  private readonly first: number;
  private readonly slotById: Map<number, number> | null;
  private readonly ids: Int32Array;
  private readonly seeds: Float64Array;
  /** worker holding its latent state, or null */
  private readonly holder: (string | null)[];
  /** step of that state (-1 = initial noise); meaningless while the holder is null */
  private readonly stepAt: Int32Array;
  /** its position in the current stage's alive() (where its scores go), -1 when not alive in it */
  private readonly at: Int32Array;
  /** the segment in flight: the worker (null = none), the step it starts from */
  private readonly flyWorker: (string | null)[];
  private readonly from: Int32Array;
  /** when it was last asked for (re-requests move it) */
  private readonly since: Float64Array;
  /** when it was first asked for: score latency counts from here, so a re-request cannot hide a slow score */
  private readonly askedAt: Float64Array;
  /** bit r set: reward r (index in rewardNames) has its score (the first valid one wins) */
  private readonly got: Int32Array;
  /** slots of the stage's alive candidates (the first aliveN), as the engine listed them at its start (their `at` is set) */
  private readonly aliveNow: Int32Array;
  private aliveN = 0;
  /** per reward, room for every candidate's score: each stage's `values` are views of their start */
  private readonly valueStore: Float64Array[];
  /**
   * The stage's scores, per reward, aligned with the engine's alive() (NaN until scored): the arrays the engine
   * takes, filled as scores arrive, instead of a map of scores per candidate gathered into them at the barrier.
   */
  private values: Float64Array[] = [];
  /** 1 at the position of each alive candidate whose scores are all in (the stage's first aliveN) */
  private readonly scored: Uint8Array;
  private scoredCount = 0;
  /** every reward received (a mask of rewardNames.length bits) */
  private readonly allRewards: number;
  /**
   * Slots of candidates with a segment in flight, in the order they were last asked for (a dispatch or a
   * re-request moves one to the end): the re-request sweep stops at the first one not yet due, instead of visiting all.
   */
  private readonly flying: SlotQueue;
  /** told when a holder's waiting candidates go from none to some (has) and back: the job's PendingRuns */
  onPending: ((holder: string, has: boolean) => void) | null = null;
  /** told each prune outcome (stage index, step, kept ids, their scores per reward, the ledger so far; each its own to keep): the job journal */
  onPruned: ((stage: number, step: number, kept: number[], scores: Record<string, number[]>, ledger: Ledger) => void) | null = null;

  constructor(
    readonly position: number,
    readonly prompt: number,
    readonly text: string,
    explored: Int32Array,
    seeds: (index: number) => number,
    private readonly policy: Policy,
    readonly rewardNames: readonly string[],
    /** this prompt's costs: its steps, and a denoise step at its guidance */
    readonly cost: CostModel,
    accounting: Accounting,
  ) {
    if (rewardNames.length > 30) throw new RangeError(`${rewardNames.length} rewards: a prompt run tracks at most 30`);
    this.allRewards = 2 ** rewardNames.length - 1;
    this.search = new PromptSearch(explored, policy.schedule, cost.steps);
    this.book = new LedgerBook(cost, accounting, policy.schedule);
    const n = explored.length;
    this.book.addCandidates(n);
    let first = n > 0 ? (explored[0] as number) : 0;
    for (let j = 1; j < n; j++) first = Math.min(first, explored[j] as number);
    const seen = new Uint8Array(n);
    let range = true;
    for (let j = 0; j < n && range; j++) {
      const k = (explored[j] as number) - first;
      range = k < n && seen[k] === 0;
      seen[k] = 1;
    }
    this.first = range ? first : -1;
    this.slotById = range ? null : new Map(Array.from(explored, (id, j) => [id, j]));
    // one buffer for them all, stages' scores included: a typed array past 64 bytes keeps its bytes outside V8's
    // heap, and a dozen such allocations per prompt and stage are work for the garbage collector too
    const R = rewardNames.length;
    const buf = new ArrayBuffer(n * (8 * (3 + R) + 4 * 6 + 1));
    this.seeds = new Float64Array(buf, 0, n);
    this.since = new Float64Array(buf, 8 * n, n);
    this.askedAt = new Float64Array(buf, 16 * n, n);
    this.valueStore = rewardNames.map((_, r) => new Float64Array(buf, 8 * n * (3 + r), n));
    const ints = 8 * n * (3 + R);
    this.ids = new Int32Array(buf, ints, n);
    this.stepAt = new Int32Array(buf, ints + 4 * n, n).fill(-1);
    this.at = new Int32Array(buf, ints + 8 * n, n).fill(-1);
    this.from = new Int32Array(buf, ints + 12 * n, n).fill(-1);
    this.got = new Int32Array(buf, ints + 16 * n, n);
    this.aliveNow = new Int32Array(buf, ints + 20 * n, n);
    this.scored = new Uint8Array(buf, ints + 24 * n, n);
    for (let j = 0; j < n; j++) {
      const id = explored[j] as number;
      const slot = range ? id - first : j;
      this.ids[slot] = id;
      this.seeds[slot] = seeds(id);
    }
    this.holder = new Array<string | null>(n).fill(null);
    this.flyWorker = new Array<string | null>(n).fill(null);
    this.flying = new SlotQueue(n);
  }

  /** Slot of candidate i, or -1 when it is not one of this prompt's. */
  private slotOf(i: number): number {
    if (this.slotById) return this.slotById.get(i) ?? -1;
    const j = i - this.first;
    return j >= 0 && j < this.ids.length ? j : -1;
  }

  /** Whether candidate i is one of this prompt's (explored). */
  has(i: number): boolean {
    return this.slotOf(i) >= 0;
  }

  /** Candidate i's seed (0 when it is not one of this prompt's). */
  seedOf(i: number): number {
    const j = this.slotOf(i);
    return j >= 0 ? (this.seeds[j] as number) : 0;
  }

  /** The worker holding candidate i's latent state, or null. */
  holderOf(i: number): string | null {
    const j = this.slotOf(i);
    return j >= 0 ? (this.holder[j] as string | null) : null;
  }

  /** Step of candidate i's state where it is held (-1 = initial noise, or not held). */
  stepOf(i: number): number {
    const j = this.slotOf(i);
    return j >= 0 && this.holder[j] !== null ? (this.stepAt[j] as number) : -1;
  }

  /** The worker candidate i has a segment in flight on, or null. */
  inflightOn(i: number): string | null {
    const j = this.slotOf(i);
    return j >= 0 ? (this.flyWorker[j] as string | null) : null;
  }

  /** Forgets where candidate i's state is (it was released there); returns that worker, or null. */
  dropHolder(i: number): string | null {
    const j = this.slotOf(i);
    if (j < 0) return null;
    const w = this.holder[j] as string | null;
    this.holder[j] = null;
    return w;
  }

  get done(): boolean {
    return this.search.done;
  }

  /** Starts the stage the engine asks for next: every alive candidate becomes pending where it lives. */
  beginStage(now: number): void {
    this.request = this.search.request();
    const noiseAware = !this.request.final && this.policy.pruneReward === 'narf';
    this.rewards = this.rewardNames.map((name) => ({ name, noiseAware }));
    this.clearPending();
    this.stageStartedAt = now;
    this.firstScoreAt = 0;
    const alive = this.search.alive();
    for (let k = 0; k < this.aliveN; k++) this.at[this.aliveNow[k] as number] = -1;
    this.aliveN = alive.length;
    this.values = this.valueStore.map((v) => v.subarray(0, alive.length).fill(Number.NaN));
    this.scored.fill(0, 0, alive.length);
    this.scoredCount = 0;
    for (let k = 0; k < alive.length; k++) {
      const j = this.slotOf(alive[k] as number);
      this.at[j] = k;
      this.aliveNow[k] = j;
      this.addPending(j);
    }
  }

  /** Makes the candidate in `slot` wait for dispatch where its state lives. */
  private addPending(slot: number): void {
    const holder = this.holder[slot] ?? UNPLACED;
    let set = this.pending.get(holder);
    if (!set) {
      this.pending.set(holder, (set = new Set()));
      this.onPending?.(holder, true);
    }
    set.add(this.ids[slot] as number);
  }

  /** Forgets the candidates waiting at `holder`; returns them. */
  private dropPending(holder: string): Set<number> | undefined {
    const set = this.pending.get(holder);
    if (!set) return undefined;
    this.pending.delete(holder);
    this.onPending?.(holder, false);
    return set;
  }

  /** Forgets every waiting candidate (a stage begins, or the prompt is done with). */
  clearPending(): void {
    for (const holder of [...this.pending.keys()]) this.dropPending(holder);
  }

  /**
   * Places an unplaced candidate of the current stage on `worker`, whose state there is at `step` (a worker
   * that held it across a coordinator restart). The steps it ran past the stage's start were executed, under
   * the earlier coordinator, and never booked: they are booked now. False when it is not unplaced and pending
   * or its state is past the stage's step.
   */
  adopt(i: number, worker: string, step: number): boolean {
    const j = this.slotOf(i);
    const unplaced = this.pending.get(UNPLACED);
    if (this.done || j < 0 || this.holder[j] !== null || this.flyWorker[j] !== null || !unplaced?.has(i) || step > this.request.step) return false;
    unplaced.delete(i);
    if (unplaced.size === 0) this.dropPending(UNPLACED);
    this.holder[j] = worker;
    this.stepAt[j] = step;
    this.addPending(j);
    const stage = this.search.stageIndex;
    const booked = stage === 0 ? -1 : (this.policy.schedule[stage - 1]?.step ?? -1);
    if (step > booked) this.book.addDenoise(this.request.step, step - booked);
    return true;
  }

  /** Removes up to `limit` pending candidates held by `holder`. */
  takePending(holder: string, limit: number): number[] {
    const set = this.pending.get(holder);
    if (!set) return [];
    const out: number[] = [];
    for (const i of set) {
      if (out.length >= limit) break;
      out.push(i);
    }
    for (const i of out) set.delete(i);
    if (set.size === 0) this.dropPending(holder);
    return out;
  }

  /** Marks a candidate dispatched to `worker`, whose state there will be at `from` when the segment starts. */
  dispatch(i: number, worker: string, from: number, now: number): void {
    const j = this.slotOf(i);
    this.holder[j] = worker;
    this.stepAt[j] = from;
    this.flyWorker[j] = worker;
    this.from[j] = from;
    this.since[j] = now;
    this.askedAt[j] = now;
    this.got[j] = 0;
    this.flying.moveToEnd(j);
  }

  // candidate -> its failed calls, and the workers they failed on
  private readonly faults = new Map<number, { calls: number; workers: Set<string> }>();

  /** Records a failed call on candidate i at `worker`; returns its failed calls and on how many workers. */
  fault(i: number, worker: string): { readonly calls: number; readonly workers: number } {
    const f = this.faults.get(i) ?? { calls: 0, workers: new Set<string>() };
    f.calls++;
    f.workers.add(worker);
    this.faults.set(i, f);
    return { calls: f.calls, workers: f.workers.size };
  }

  /** True when the candidate in `slot` has all its scores of the current stage. */
  private hasScores(slot: number): boolean {
    const k = this.at[slot] as number;
    return k >= 0 && this.scored[k] === 1;
  }

  /** Puts an in-flight candidate back to pending (its dispatch failed); `lost` = its state is gone too. */
  undispatch(i: number, lost: boolean): void {
    const j = this.slotOf(i);
    if (j < 0) return;
    this.flyWorker[j] = null;
    this.flying.delete(j);
    if (lost) {
      this.holder[j] = null;
      this.stepAt[j] = -1;
    }
    if (!this.hasScores(j) && (this.at[j] as number) >= 0) this.addPending(j);
  }

  /**
   * Applies one score; returns what it completed, or null when it is a duplicate, late, from a worker that no
   * longer holds the candidate, or one reward of several.
   */
  accept(score: Score, now: number): Completed | null {
    if (this.done || score.step !== this.request.step) return null;
    const j = this.slotOf(score.candidate);
    if (j < 0) return null;
    const worker = this.flyWorker[j];
    const r = this.rewardNames.indexOf(score.reward);
    const k = this.at[j] as number;
    const got = this.got[j] as number;
    if (worker !== score.worker || r < 0 || k < 0 || (got & (1 << r)) !== 0) return null;
    this.got[j] = got | (1 << r);
    (this.values[r] as Float64Array)[k] = score.value;
    if ((got | (1 << r)) !== this.allRewards) return null;
    this.flyWorker[j] = null;
    this.flying.delete(j);
    this.stepAt[j] = score.step;
    this.scored[k] = 1;
    this.scoredCount++;
    if (this.firstScoreAt === 0) this.firstScoreAt = now;
    const denoise = score.step - (this.from[j] as number);
    this.book.addScored(score.step, denoise, this.rewardNames);
    return { candidate: score.candidate, worker, denoise, latencyMs: now - (this.askedAt[j] as number) };
  }

  /** True once every alive candidate of the stage has its scores. */
  get stageComplete(): boolean {
    return this.scoredCount === this.search.aliveCount;
  }

  /** Feeds the stage's scores to the engine; returns the prune outcome (null after the final stage). */
  submitStage(): PruneOutcome | null {
    const values = this.values;
    const stage = this.search.stageIndex;
    const outcome = this.search.submit(values);
    if (outcome && this.onPruned) {
      const kept = numbers(outcome.kept);
      const scores: Record<string, number[]> = {};
      const at = kept.map((i) => this.at[this.slotOf(i)] as number);
      this.rewardNames.forEach((name, r) => (scores[name] = at.map((k) => (values[r] as Float64Array)[k] as number)));
      this.onPruned(stage, outcome.step, kept, scores, this.book.summary());
    }
    return outcome;
  }

  /** Final reward values of a finalist (the final stage's scores stay, no stage follows it). */
  finalRewards(i: number): Record<string, number> {
    const out: Record<string, number> = {};
    const j = this.slotOf(i);
    const k = j >= 0 ? (this.at[j] as number) : -1;
    if (!this.done || k < 0) return out;
    this.rewardNames.forEach((name, r) => (out[name] = (this.values[r] as Float64Array)[k] as number));
    return out;
  }

  isAlive(i: number): boolean {
    const j = this.slotOf(i);
    return j >= 0 && (this.at[j] as number) >= 0;
  }

  /**
   * Candidates in flight since before `before`, each marked asked again at `now` (for re-requests). Visits
   * only those due and the first one not due: the clock does not go back, so the rest were asked later.
   */
  takeStale(before: number, now: number): number[] {
    const due: number[] = [];
    for (let j = this.flying.first(); j >= 0; j = this.flying.after(j)) {
      if ((this.since[j] as number) >= before) break;
      due.push(j);
    }
    for (const j of due) {
      this.since[j] = now;
      this.flying.moveToEnd(j);
    }
    return due.map((j) => this.ids[j] as number);
  }

  /** Forgets every segment in flight (the job ended); returns the worker each one was in flight on. */
  dropInflight(): string[] {
    const workers: string[] = [];
    for (let j = this.flying.first(); j >= 0; j = this.flying.after(j)) {
      const w = this.flyWorker[j];
      if (w !== null && w !== undefined) workers.push(w);
      this.flyWorker[j] = null;
    }
    this.flying.clear();
    return workers;
  }

  /**
   * A worker is gone: every candidate it held loses its state (recomputed from seed later). Returns the
   * candidates that were in flight there and those it held, and `unscored`: the denoise steps of the segments in
   * flight there, which it may have run (all, some or none) and which no ledger charges, as only scored work is.
   */
  loseWorker(worker: string): { unscored: number; inflight: number; held: number } {
    let unscored = 0;
    let inflight = 0;
    let holding = 0;
    const pend = this.dropPending(worker);
    for (let j = 0; j < this.ids.length; j++) {
      const held = this.holder[j] === worker;
      const flying = this.flyWorker[j] === worker;
      if (!held && !flying) continue;
      if (flying) {
        inflight++;
        unscored += this.request.step - (this.from[j] as number);
      }
      if (held) holding++;
      this.flyWorker[j] = null;
      this.flying.delete(j);
      this.holder[j] = null;
      this.stepAt[j] = -1;
      if ((flying || pend?.has(this.ids[j] as number)) && !this.hasScores(j) && !this.done) this.addPending(j);
    }
    return { unscored, inflight, held: holding };
  }
}
