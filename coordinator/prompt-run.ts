import type { Accounting } from '../core/engine/accounting.js';
import type { CostModel } from '../core/engine/cost-model.js';
import { LedgerBook, type Ledger } from '../core/engine/ledger.js';
import type { Policy } from '../core/engine/policy.js';
import { PromptSearch, type PruneOutcome, type ScoreRequest } from '../core/engine/prompt-search.js';
import type { Score } from '../core/bus/score-bus.js';
import type { RewardSpec } from '../core/contract/backend-info.js';

/** Key of candidates that no worker holds (new, or lost with their worker). */
export const UNPLACED = '';

/** One segment in flight: the candidate is being advanced from `from` to the stage's step on `worker`. */
interface InFlight {
  readonly worker: string;
  readonly from: number;
  /** when it was last asked for (re-requests move it) */
  since: number;
  /** when it was first asked for: score latency counts from here, so a re-request cannot hide a slow score */
  readonly askedAt: number;
  readonly got: Map<string, number>;
}

export interface CandidateState {
  readonly index: number;
  readonly seed: number;
  /** worker holding its latent state, or null */
  worker: string | null;
  /** step of that state (-1 = initial noise); meaningless while worker is null */
  step: number;
  inflight: InFlight | null;
}

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
  readonly candidates = new Map<number, CandidateState>();
  /** candidates of the current stage not yet dispatched, by the worker holding them (UNPLACED = none) */
  readonly pending = new Map<string, Set<number>>();
  request!: ScoreRequest;
  rewards: readonly RewardSpec[] = [];
  stageStartedAt = 0;
  firstScoreAt = 0;
  private readonly scores = new Map<number, Map<string, number>>();
  /** the stage's alive candidates (membership tests without scanning the engine's array) */
  private aliveNow = new Set<number>();
  /** candidates with a segment in flight: the re-request sweep visits these, not every explored one */
  private readonly flying = new Set<CandidateState>();
  /** told each prune outcome (stage index, step, kept ids, their scores per reward, the ledger so far): the job journal */
  onPruned: ((stage: number, step: number, kept: readonly number[], scores: Record<string, number[]>, ledger: Ledger) => void) | null = null;
  private finalScores = new Map<number, Map<string, number>>();

  constructor(
    readonly position: number,
    readonly prompt: number,
    readonly text: string,
    explored: Int32Array,
    seeds: (index: number) => number,
    private readonly policy: Policy,
    readonly rewardNames: readonly string[],
    cost: CostModel,
    accounting: Accounting,
  ) {
    this.search = new PromptSearch(explored, policy.schedule, cost.steps);
    this.book = new LedgerBook(cost, accounting, policy.schedule);
    this.book.addCandidates(explored.length);
    for (const i of explored) this.candidates.set(i, { index: i, seed: seeds(i), worker: null, step: -1, inflight: null });
  }

  get done(): boolean {
    return this.search.done;
  }

  /** Starts the stage the engine asks for next: every alive candidate becomes pending where it lives. */
  beginStage(now: number): void {
    this.request = this.search.request();
    const noiseAware = !this.request.final && this.policy.pruneReward === 'narf';
    this.rewards = this.rewardNames.map((name) => ({ name, noiseAware }));
    this.scores.clear();
    this.pending.clear();
    this.stageStartedAt = now;
    this.firstScoreAt = 0;
    this.aliveNow = new Set(this.search.alive());
    for (const i of this.aliveNow) this.addPending(this.candidates.get(i) as CandidateState);
  }

  addPending(c: CandidateState): void {
    const holder = c.worker ?? UNPLACED;
    let set = this.pending.get(holder);
    if (!set) this.pending.set(holder, (set = new Set()));
    set.add(c.index);
  }

  /**
   * Places an unplaced candidate of the current stage on `worker`, whose state there is at `step` (a worker
   * that held it across a coordinator restart). The steps it ran past the stage's start were executed, under
   * the earlier coordinator, and never booked: they are booked now. False when it is not unplaced and pending
   * or its state is past the stage's step.
   */
  adopt(i: number, worker: string, step: number): boolean {
    const c = this.candidates.get(i);
    const unplaced = this.pending.get(UNPLACED);
    if (this.done || !c || c.worker !== null || c.inflight || !unplaced?.has(i) || step > this.request.step) return false;
    unplaced.delete(i);
    if (unplaced.size === 0) this.pending.delete(UNPLACED);
    c.worker = worker;
    c.step = step;
    this.addPending(c);
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
    if (set.size === 0) this.pending.delete(holder);
    return out;
  }

  /** Marks a candidate dispatched to `worker`, whose state there will be at `from` when the segment starts. */
  dispatch(i: number, worker: string, from: number, now: number): void {
    const c = this.candidates.get(i) as CandidateState;
    c.worker = worker;
    c.step = from;
    c.inflight = { worker, from, since: now, askedAt: now, got: new Map() };
    this.flying.add(c);
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

  /** Puts an in-flight candidate back to pending (its dispatch failed); `lost` = its state is gone too. */
  undispatch(i: number, lost: boolean): void {
    const c = this.candidates.get(i) as CandidateState;
    c.inflight = null;
    this.flying.delete(c);
    if (lost) {
      c.worker = null;
      c.step = -1;
    }
    if (!this.scores.has(i) && this.isAlive(i)) this.addPending(c);
  }

  /**
   * Applies one score; returns what it completed, or null when it is a duplicate, late, from a worker that no
   * longer holds the candidate, or one reward of several.
   */
  accept(score: Score, now: number): Completed | null {
    if (this.done || score.step !== this.request.step) return null;
    const c = this.candidates.get(score.candidate);
    const f = c?.inflight;
    if (!c || !f || f.worker !== score.worker || !this.rewardNames.includes(score.reward) || f.got.has(score.reward)) return null;
    f.got.set(score.reward, score.value);
    if (f.got.size < this.rewardNames.length) return null;
    c.inflight = null;
    this.flying.delete(c);
    c.step = score.step;
    this.scores.set(c.index, f.got);
    if (this.firstScoreAt === 0) this.firstScoreAt = now;
    const denoise = score.step - f.from;
    this.book.addDenoise(score.step, denoise);
    for (const r of this.rewardNames) this.book.addRewardCalls(score.step, r, 1);
    return { candidate: c.index, worker: f.worker, denoise, latencyMs: now - f.askedAt };
  }

  /** True once every alive candidate of the stage has its scores. */
  get stageComplete(): boolean {
    return this.scores.size === this.search.alive().length;
  }

  /** Feeds the stage's scores to the engine; returns the prune outcome (null after the final stage). */
  submitStage(): PruneOutcome | null {
    const alive = this.search.alive();
    const arrays = this.rewardNames.map((r) => Float64Array.from(alive, (i) => this.scores.get(i)?.get(r) ?? Number.NaN));
    if (this.request.final) this.finalScores = new Map(this.scores);
    const stage = this.search.stageIndex;
    const outcome = this.search.submit(arrays);
    if (outcome && this.onPruned) {
      const kept = [...outcome.kept];
      const scores = Object.fromEntries(this.rewardNames.map((r) => [r, kept.map((i) => this.scores.get(i)?.get(r) ?? Number.NaN)]));
      this.onPruned(stage, outcome.step, kept, scores, this.book.summary());
    }
    return outcome;
  }

  /** Final reward values of a finalist. */
  finalRewards(i: number): Record<string, number> {
    return Object.fromEntries(this.finalScores.get(i) ?? []);
  }

  isAlive(i: number): boolean {
    return this.aliveNow.has(i);
  }

  /** Candidates in flight whose segment started before `before` (for re-requests); visits only those in flight. */
  *stale(before: number): Generator<CandidateState> {
    for (const c of this.flying) if (c.inflight && c.inflight.since < before) yield c;
  }

  /** Forgets every segment in flight (the job ended); returns the worker each one was in flight on. */
  dropInflight(): string[] {
    const workers: string[] = [];
    for (const c of this.flying) {
      if (c.inflight) workers.push(c.inflight.worker);
      c.inflight = null;
    }
    this.flying.clear();
    return workers;
  }

  /**
   * A worker is gone: every candidate it held loses its state (recomputed from seed later). Returns the
   * denoise steps that must be executed again and the candidates that were in flight there.
   */
  loseWorker(worker: string): { recompute: number; inflight: number; held: number } {
    let recompute = 0;
    let inflight = 0;
    let holding = 0;
    const pend = this.pending.get(worker);
    this.pending.delete(worker);
    for (const c of this.candidates.values()) {
      const held = c.worker === worker;
      const flying = c.inflight?.worker === worker;
      if (!held && !flying) continue;
      if (flying) inflight++;
      if (held) holding++;
      recompute += Math.max(0, (c.inflight?.from ?? c.step) + 1);
      c.inflight = null;
      this.flying.delete(c);
      c.worker = null;
      c.step = -1;
      if ((flying || pend?.has(c.index)) && !this.scores.has(c.index) && !this.done) this.addPending(c);
    }
    return { recompute, inflight, held: holding };
  }
}
