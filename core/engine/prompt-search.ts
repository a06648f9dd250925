import { combinedScores, selectBest } from './ranking.js';
import { keepCount, type Schedule } from './schedule.js';

/** What the alive candidates of a prompt must be scored with next. */
export interface ScoreRequest {
  /** step index to denoise to and score at */
  readonly step: number;
  /** index into the schedule, or -1 for the final pick at step S-1 */
  readonly pruneIndex: number;
  /** true at step S-1: score with the base reward(s) and pick */
  readonly final: boolean;
}

/** The outcome of one prune point. */
export interface PruneOutcome {
  readonly step: number;
  readonly kept: Int32Array;
  readonly pruned: Int32Array;
}

/**
 * The pruning policy for one prompt: a pure state machine. Callers advance the alive candidates to
 * `request().step`, score them (one array per reward, aligned with `alive()`), and `submit` the scores.
 * The coordinator, the simulator and the tuner all drive this one class, so they cannot disagree.
 */
export class PromptSearch {
  readonly explored: Int32Array;
  readonly schedule: Schedule;
  readonly steps: number;
  private aliveIds: Int32Array;
  private stage = 0;
  private ranking: Int32Array | null = null;
  private readonly scratch: Int32Array;

  constructor(candidates: ArrayLike<number>, schedule: Schedule, steps: number) {
    if (candidates.length < 1) throw new RangeError('a prompt needs at least one candidate');
    this.explored = Int32Array.from(candidates);
    this.aliveIds = this.explored.slice();
    this.schedule = schedule;
    this.steps = steps;
    this.scratch = new Int32Array(this.explored.length);
  }

  get done(): boolean {
    return this.ranking !== null;
  }

  /** Candidates still alive (a view: copy it before calling submit if you keep it). */
  alive(): Int32Array {
    return this.aliveIds;
  }

  request(): ScoreRequest {
    if (this.done) throw new Error('the search of this prompt is finished');
    const point = this.schedule[this.stage];
    return point
      ? { step: point.step, pruneIndex: this.stage, final: false }
      : { step: this.steps - 1, pruneIndex: -1, final: true };
  }

  /**
   * Applies one stage's scores (one array per reward, each aligned with alive()). At a prune point keeps
   * max(1, round_half_even(n * alpha)) by the (rank-summed) score; at the last step ranks the finalists.
   */
  submit(scoresByReward: readonly ArrayLike<number>[]): PruneOutcome | null {
    const req = this.request();
    const ids = this.aliveIds;
    const n = ids.length;
    const combined = combinedScores(scoresByReward, ids, n);
    if (req.final) {
      selectBest(combined, ids, n, n, this.scratch);
      const ranking = new Int32Array(n);
      for (let r = 0; r < n; r++) ranking[r] = ids[this.scratch[r] as number] as number;
      this.ranking = ranking;
      return null;
    }
    const point = this.schedule[req.pruneIndex] as Schedule[number];
    const k = keepCount(n, point.alpha);
    selectBest(combined, ids, n, k, this.scratch);
    const keptMask = new Uint8Array(n);
    for (let r = 0; r < k; r++) keptMask[this.scratch[r] as number] = 1;
    const kept = new Int32Array(k);
    const pruned = new Int32Array(n - k);
    let a = 0;
    let b = 0;
    for (let j = 0; j < n; j++) {
      if (keptMask[j]) kept[a++] = ids[j] as number;
      else pruned[b++] = ids[j] as number;
    }
    this.aliveIds = kept;
    this.stage++;
    return { step: point.step, kept, pruned };
  }

  /** Finalists best first (after the final submit). */
  finalRanking(): Int32Array {
    if (!this.ranking) throw new Error('the search of this prompt is not finished');
    return this.ranking;
  }

  winner(): number {
    return this.finalRanking()[0] as number;
  }
}
