import { bestPosition, combinedScores, markBest, rankScratch, selectBest, takeBestRanks, type RankScratch } from './ranking.js';
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
 *
 * Hot loops (the simulator replays millions of prompts) use `reset` to reuse one instance, read the alive
 * ids through `aliveCount` / `aliveBuffer()` and call `advance`, which allocates nothing.
 */
export class PromptSearch {
  readonly schedule: Schedule;
  readonly steps: number;
  private readonly requests: readonly ScoreRequest[];
  private exploredIds!: Int32Array;
  private exploredCount = 0;
  private ids!: Int32Array;
  private count = 0;
  private stage = 0;
  private finished = false;
  private winnerId = -1;
  private ranking: Int32Array | null = null;
  private finalScores!: Float64Array;
  private mask!: Uint8Array;
  private work!: Int32Array;
  private rankWork: RankScratch | null = null;
  private readonly keeps: Int32Array;
  private keepsFor = -1;

  constructor(candidates: ArrayLike<number>, schedule: Schedule, steps: number, capacity = candidates.length) {
    this.schedule = schedule;
    this.steps = steps;
    // One frozen request per stage, so that request() allocates nothing.
    this.requests = [
      ...schedule.map((p, i) => Object.freeze({ step: p.step, pruneIndex: i, final: false })),
      Object.freeze({ step: steps - 1, pruneIndex: -1, final: true }),
    ];
    this.keeps = new Int32Array(schedule.length);
    const cap = Math.max(1, capacity);
    this.grow(cap);
    this.reset(candidates);
  }

  /**
   * The five per-candidate buffers, views of one ArrayBuffer: a typed array past 64 bytes keeps its bytes outside
   * V8's heap, and a coordinator opens a search per prompt; one external allocation each instead of five.
   */
  private static buffers(cap: number): { finalScores: Float64Array; exploredIds: Int32Array; ids: Int32Array; work: Int32Array; mask: Uint8Array } {
    const buf = new ArrayBuffer(21 * cap);
    return {
      finalScores: new Float64Array(buf, 0, cap),
      exploredIds: new Int32Array(buf, 8 * cap, cap),
      ids: new Int32Array(buf, 12 * cap, cap),
      work: new Int32Array(buf, 16 * cap, cap),
      mask: new Uint8Array(buf, 20 * cap, cap),
    };
  }

  /** Starts over with new candidates (same schedule), reusing the buffers. */
  reset(candidates: ArrayLike<number>): void {
    const n = candidates.length;
    if (n < 1) throw new RangeError('a prompt needs at least one candidate');
    if (n > this.ids.length) this.grow(n);
    const { exploredIds, ids } = this;
    for (let j = 0; j < n; j++) {
      const id = candidates[j] as number;
      exploredIds[j] = id;
      ids[j] = id;
    }
    this.exploredCount = n;
    this.count = n;
    this.stage = 0;
    this.finished = false;
    this.winnerId = -1;
    this.ranking = null;
  }

  /**
   * Continues a search that another process began (a coordinator resuming a job from its journal): after
   * reset(explored), jumps to stage `stage` (0 = the first prune point; schedule.length = the final pick) with
   * `alive`, the candidates kept by the stage before. Checks that they are explored, distinct and as many as
   * the schedule keeps there, so a journal from a different schedule or N cannot be resumed by mistake.
   */
  resumeAt(stage: number, alive: ArrayLike<number>): void {
    if (!Number.isInteger(stage) || stage < 0 || stage > this.schedule.length) throw new RangeError(`stage ${stage} is outside [0, ${this.schedule.length}]`);
    if (this.stage !== 0 || this.count !== this.exploredCount) throw new Error('resumeAt needs a freshly reset search');
    const expected = stage === 0 ? this.exploredCount : this.keepAt(this.requests[stage - 1] as ScoreRequest);
    if (alive.length !== expected) throw new RangeError(`stage ${stage} starts with ${expected} candidates, not ${alive.length}`);
    const known = new Set(this.explored);
    const seen = new Set<number>();
    for (let j = 0; j < alive.length; j++) {
      const id = alive[j] as number;
      if (!known.has(id) || seen.has(id)) throw new RangeError(`candidate ${id} is not an explored candidate left to resume`);
      seen.add(id);
      this.ids[j] = id;
    }
    this.count = alive.length;
    this.stage = stage;
  }

  /** Index of the current stage: 0 = the first prune point, schedule.length = the final pick. */
  get stageIndex(): number {
    return this.stage;
  }

  /** Every candidate this prompt started with. */
  get explored(): Int32Array {
    return this.exploredIds.subarray(0, this.exploredCount);
  }

  get done(): boolean {
    return this.finished;
  }

  /** Number of candidates still alive. */
  get aliveCount(): number {
    return this.count;
  }

  /** The internal id buffer: entries [0, aliveCount) are the alive candidates. Valid until the next advance. */
  aliveBuffer(): Int32Array {
    return this.ids;
  }

  /** Candidates still alive (a view: copy it before calling submit if you keep it). */
  alive(): Int32Array {
    return this.ids.subarray(0, this.count);
  }

  request(): ScoreRequest {
    if (this.finished) throw new Error('the search of this prompt is finished');
    return this.requests[this.stage] as ScoreRequest;
  }

  /**
   * Applies one stage's scores (one array per reward, each aligned with alive()) without allocating. At a
   * prune point keeps max(1, round_half_even(n * alpha)) by the (rank-summed) score; at the last step picks
   * the winner (the full final ranking is computed on demand).
   */
  advance(scoresByReward: readonly ArrayLike<number>[]): void {
    const req = this.request();
    const ids = this.ids;
    const n = this.count;
    const combined = combinedScores(scoresByReward, ids, n);
    if (req.final) {
      this.winnerId = ids[bestPosition(combined, ids, n)] as number;
      for (let j = 0; j < n; j++) this.finalScores[j] = combined[j] as number;
      this.finished = true;
      return;
    }
    markBest(combined, ids, n, this.keepAt(req), this.mask, this.work);
    this.compact();
  }

  /**
   * As advance at a prune point with one reward whose scores arrive as ranks looked up by candidate id:
   * candidate i has rank `ranksById[offset + i]`, a distinct integer in [0, limit) with 0 = best, in the
   * order the scores would give (higher first, ties to the lower id). Keeps the same candidates as advance
   * on the scores, selected through a bitset (see takeBestRanks), and allocates nothing; alive() is then
   * best first rather than in the order given. The final pick still takes the rewards (advance).
   */
  advanceRanked(ranksById: ArrayLike<number>, offset: number, limit: number): void {
    const req = this.request();
    if (req.final) throw new Error('advanceRanked serves prune points; submit the final scores with advance');
    const n = this.count;
    const k = this.keepAt(req);
    if (k < n) {
      if (!this.rankWork || this.rankWork.idAtRank.length < limit) this.rankWork = rankScratch(limit);
      takeBestRanks(ranksById, offset, this.ids, n, k, this.rankWork);
      this.count = k;
    }
    this.stage++;
  }

  /** Keep count at a prune point; the chain for the current start size is computed once and reused. */
  private keepAt(req: ScoreRequest): number {
    if (this.keepsFor !== this.exploredCount) {
      let alive = this.exploredCount;
      this.schedule.forEach((p, i) => {
        alive = keepCount(alive, p.alpha);
        this.keeps[i] = alive;
      });
      this.keepsFor = this.exploredCount;
    }
    return this.keeps[req.pruneIndex] as number;
  }

  /** Keeps the masked alive ids, in order. */
  private compact(): void {
    const { ids, mask } = this;
    const n = this.count;
    let a = 0;
    // Branch-free: kept or not is a coin flip per candidate, which a branch predictor cannot learn.
    for (let j = 0; j < n; j++) {
      ids[a] = ids[j] as number;
      a += mask[j] as number;
      mask[j] = 0; // leave the mask zeroed for the next stage
    }
    this.count = a;
    this.stage++;
  }

  /** As advance, and says which candidates a prune point kept and dropped (null after the final stage). */
  submit(scoresByReward: readonly ArrayLike<number>[]): PruneOutcome | null {
    const req = this.request();
    if (req.final) {
      this.advance(scoresByReward);
      return null;
    }
    const before = this.alive().slice();
    this.advance(scoresByReward);
    const kept = this.alive().slice();
    const pruned = new Int32Array(before.length - kept.length);
    let b = 0;
    let a = 0;
    for (const id of before) {
      if (a < kept.length && kept[a] === id) a++;
      else pruned[b++] = id;
    }
    return { step: req.step, kept, pruned };
  }

  /** Finalists best first (after the final submit). */
  finalRanking(): Int32Array {
    if (!this.finished) throw new Error('the search of this prompt is not finished');
    if (!this.ranking) {
      const n = this.count;
      const order = new Int32Array(n);
      selectBest(this.finalScores, this.ids, n, n, order);
      this.ranking = order.map((pos) => this.ids[pos] as number);
    }
    return this.ranking;
  }

  /** The best finalist's id (after the final submit). */
  winner(): number {
    if (!this.finished) throw new Error('the search of this prompt is not finished');
    return this.winnerId;
  }

  private grow(n: number): void {
    const b = PromptSearch.buffers(n);
    this.exploredIds = b.exploredIds;
    this.ids = b.ids;
    this.finalScores = b.finalScores;
    this.mask = b.mask;
    this.work = b.work;
  }
}
