import type { Accounting } from '../core/engine/accounting.js';
import type { CostModel } from '../core/engine/cost-model.js';
import { LedgerBook, type Ledger } from '../core/engine/ledger.js';
import type { Policy } from '../core/engine/policy.js';
import { PromptSearch, type PruneOutcome, type ScoreRequest } from '../core/engine/prompt-search.js';
import type { Score } from '../core/bus/score-bus.js';
import type { RewardSpec } from '../core/contract/backend-info.js';

/** Key of candidates that no worker holds (new, or lost with their worker). */
export const UNPLACED = '';

/**
 * One segment in flight: the candidate is being advanced from `from` to the stage's step on `worker`. Each
 * candidate owns one, reused by every dispatch (a segment per dispatch made garbage that lived a whole stage).
 */
interface InFlight {
  worker: string;
  from: number;
  /** when it was last asked for (re-requests move it) */
  since: number;
  /** when it was first asked for: score latency counts from here, so a re-request cannot hide a slow score */
  askedAt: number;
  /** bit r set: reward r (index in rewardNames) has its score (the first valid one wins) */
  got: number;
}

export interface CandidateState {
  readonly index: number;
  readonly seed: number;
  /** worker holding its latent state, or null */
  worker: string | null;
  /** step of that state (-1 = initial noise); meaningless while worker is null */
  step: number;
  /** its segment in flight, or null */
  inflight: Readonly<InFlight> | null;
  /** its position in the current stage's alive() (where its scores go), -1 when not alive in it */
  at: number;
  /** the segment object its dispatches reuse */
  readonly flight: InFlight;
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
  /** the stage's alive candidates, as the engine listed them at its start (their `at` is set) */
  private aliveNow: CandidateState[] = [];
  /**
   * The stage's scores, per reward, aligned with the engine's alive() (NaN until scored): the arrays the engine
   * takes, filled as scores arrive, instead of a map of scores per candidate gathered into them at the barrier.
   */
  private values: Float64Array[] = [];
  /** 1 at the position of each alive candidate whose scores are all in */
  private scored = new Uint8Array(0);
  private scoredCount = 0;
  /** every reward received (a mask of rewardNames.length bits) */
  private readonly allRewards: number;
  /**
   * Candidates with a segment in flight, in the order they were last asked for (a dispatch or a re-request
   * moves one to the end): the re-request sweep stops at the first one not yet due, instead of visiting all.
   */
  private readonly flying = new Set<CandidateState>();
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
    this.book.addCandidates(explored.length);
    for (const i of explored) {
      const flight: InFlight = { worker: '', from: -1, since: 0, askedAt: 0, got: 0 };
      this.candidates.set(i, { index: i, seed: seeds(i), worker: null, step: -1, inflight: null, at: -1, flight });
    }
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
    for (const c of this.aliveNow) c.at = -1;
    this.aliveNow = new Array<CandidateState>(alive.length);
    this.values = this.rewardNames.map(() => new Float64Array(alive.length).fill(Number.NaN));
    this.scored = new Uint8Array(alive.length);
    this.scoredCount = 0;
    for (let j = 0; j < alive.length; j++) {
      const c = this.candidates.get(alive[j] as number) as CandidateState;
      c.at = j;
      this.aliveNow[j] = c;
      this.addPending(c);
    }
  }

  addPending(c: CandidateState): void {
    const holder = c.worker ?? UNPLACED;
    let set = this.pending.get(holder);
    if (!set) {
      this.pending.set(holder, (set = new Set()));
      this.onPending?.(holder, true);
    }
    set.add(c.index);
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
    const c = this.candidates.get(i);
    const unplaced = this.pending.get(UNPLACED);
    if (this.done || !c || c.worker !== null || c.inflight || !unplaced?.has(i) || step > this.request.step) return false;
    unplaced.delete(i);
    if (unplaced.size === 0) this.dropPending(UNPLACED);
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
    if (set.size === 0) this.dropPending(holder);
    return out;
  }

  /** Marks a candidate dispatched to `worker`, whose state there will be at `from` when the segment starts. */
  dispatch(i: number, worker: string, from: number, now: number): void {
    const c = this.candidates.get(i) as CandidateState;
    c.worker = worker;
    c.step = from;
    const f = c.flight;
    f.worker = worker;
    f.from = from;
    f.since = now;
    f.askedAt = now;
    f.got = 0;
    c.inflight = f;
    this.flying.delete(c);
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

  /** True when candidate i has all its scores of the current stage. */
  private hasScores(i: number): boolean {
    const j = this.candidates.get(i)?.at ?? -1;
    return j >= 0 && this.scored[j] === 1;
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
    if (!this.hasScores(i) && this.isAlive(i)) this.addPending(c);
  }

  /**
   * Applies one score; returns what it completed, or null when it is a duplicate, late, from a worker that no
   * longer holds the candidate, or one reward of several.
   */
  accept(score: Score, now: number): Completed | null {
    if (this.done || score.step !== this.request.step) return null;
    const c = this.candidates.get(score.candidate);
    const f = c?.inflight;
    const r = this.rewardNames.indexOf(score.reward);
    if (!c || !f || f.worker !== score.worker || r < 0 || c.at < 0 || (f.got & (1 << r)) !== 0) return null;
    const j = c.at;
    c.flight.got |= 1 << r;
    (this.values[r] as Float64Array)[j] = score.value;
    if (f.got !== this.allRewards) return null;
    c.inflight = null;
    this.flying.delete(c);
    c.step = score.step;
    this.scored[j] = 1;
    this.scoredCount++;
    if (this.firstScoreAt === 0) this.firstScoreAt = now;
    const denoise = score.step - f.from;
    this.book.addDenoise(score.step, denoise);
    for (const name of this.rewardNames) this.book.addRewardCalls(score.step, name, 1);
    return { candidate: c.index, worker: f.worker, denoise, latencyMs: now - f.askedAt };
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
      const kept = Array.from(outcome.kept);
      const scores: Record<string, number[]> = {};
      const at = kept.map((i) => (this.candidates.get(i) as CandidateState).at);
      this.rewardNames.forEach((name, r) => (scores[name] = at.map((j) => (values[r] as Float64Array)[j] as number)));
      this.onPruned(stage, outcome.step, kept, scores, this.book.summary());
    }
    return outcome;
  }

  /** Final reward values of a finalist (the final stage's scores stay, no stage follows it). */
  finalRewards(i: number): Record<string, number> {
    const out: Record<string, number> = {};
    const j = this.candidates.get(i)?.at ?? -1;
    if (!this.done || j < 0) return out;
    this.rewardNames.forEach((name, r) => (out[name] = (this.values[r] as Float64Array)[j] as number));
    return out;
  }

  isAlive(i: number): boolean {
    return (this.candidates.get(i)?.at ?? -1) >= 0;
  }

  /**
   * Candidates in flight since before `before`, each marked asked again at `now` (for re-requests). Visits
   * only those due and the first one not due: the clock does not go back, so the rest were asked later.
   */
  takeStale(before: number, now: number): CandidateState[] {
    const due: CandidateState[] = [];
    for (const c of this.flying) {
      if (!c.inflight) continue;
      if (c.inflight.since >= before) break;
      due.push(c);
    }
    for (const c of due) {
      c.flight.since = now;
      this.flying.delete(c);
      this.flying.add(c);
    }
    return due;
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
   * candidates that were in flight there and those it held, and `unscored`: the denoise steps of the segments in
   * flight there, which it may have run (all, some or none) and which no ledger charges, as only scored work is.
   */
  loseWorker(worker: string): { unscored: number; inflight: number; held: number } {
    let unscored = 0;
    let inflight = 0;
    let holding = 0;
    const pend = this.dropPending(worker);
    for (const c of this.candidates.values()) {
      const held = c.worker === worker;
      const flying = c.inflight?.worker === worker;
      if (!held && !flying) continue;
      if (flying) {
        inflight++;
        unscored += this.request.step - (c.inflight?.from ?? this.request.step);
      }
      if (held) holding++;
      c.inflight = null;
      this.flying.delete(c);
      c.worker = null;
      c.step = -1;
      if ((flying || pend?.has(c.index)) && !this.hasScores(c.index) && !this.done) this.addPending(c);
    }
    return { unscored, inflight, held: holding };
  }
}
