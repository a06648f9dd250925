import { PromptSearch } from '../engine/prompt-search.js';
import type { Policy } from '../engine/policy.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { RankTable } from './rank-table.js';

/** The lookup tables of one trace, shared by every replayer on it. */
export interface TraceRanks {
  readonly base: RankTable;
  readonly narf: RankTable;
  /** final[p * candidates + i]: the clean-image reward, contiguous per prompt (the trace strides by steps) */
  readonly final: Float32Array;
}

export function traceRanks(trace: RewardTrace): TraceRanks {
  const base = new RankTable(trace, trace.base);
  const final = new Float32Array(trace.prompts * trace.candidates);
  for (let i = 0; i < final.length; i++) final[i] = trace.base[i * trace.steps + trace.steps - 1] as number;
  return { base, narf: trace.hasNarf ? new RankTable(trace, trace.narf) : base, final };
}

/**
 * Replays prompts of a trace through the engine's PromptSearch, reading prune-point scores from the
 * trace's rank tables (same order as the rewards, see RankTable) and the final pick's from the rewards. One Replayer serves one (trace, policy)
 * pair and reuses its search and scratch buffers, so a replay allocates nothing: the simulator runs
 * millions of them.
 */
export class Replayer {
  private readonly search: PromptSearch;
  private readonly prune: RankTable;
  private readonly final: Float32Array;
  private readonly scratch: Float64Array;
  private readonly view: readonly Float64Array[];

  constructor(
    private readonly trace: RewardTrace,
    readonly policy: Policy,
    ranks: TraceRanks = traceRanks(trace),
  ) {
    this.search = new PromptSearch([0], policy.schedule, trace.steps, trace.candidates);
    this.prune = (policy.pruneReward === 'narf' ? ranks.narf : ranks.base).ensure(policy.schedule.map((p) => p.step));
    this.final = ranks.final;
    this.scratch = new Float64Array(trace.candidates);
    this.view = [this.scratch];
  }

  /** Sum over prompts [p0, p1) of run(p, candidates): one call per draw. */
  sumOverPrompts(p0: number, p1: number, candidates: ArrayLike<number>): number {
    const final = this.final;
    let sum = 0;
    for (let p = p0; p < p1; p++) sum += final[this.winnerAt(p, candidates)] as number;
    return sum;
  }

  /** The winner's final (base) reward when `candidates` of `prompt` are searched under the policy. */
  run(prompt: number, candidates: ArrayLike<number>): number {
    return this.final[this.winnerAt(prompt, candidates)] as number;
  }

  /** Index of the winner's reward in `final`: a small integer, which V8 returns without boxing. */
  private winnerAt(prompt: number, candidates: ArrayLike<number>): number {
    const { trace, search, prune, scratch, final } = this;
    const c = trace.candidates;
    search.reset(candidates);
    for (let req = search.request(); !req.final; req = search.request()) {
      search.advanceRanked(prune.ranks, prune.offset(prompt, req.step), c);
    }
    // The final pick reads the clean-image rewards themselves.
    const ids = search.aliveBuffer();
    const n = search.aliveCount;
    const row = prompt * c;
    for (let j = 0; j < n; j++) scratch[j] = final[row + (ids[j] as number)] as number;
    search.advance(this.view);
    return row + search.winner();
  }
}

/** Runs one policy on one prompt (a convenience over Replayer for one-off replays). */
export function replayPrompt(trace: RewardTrace, prompt: number, candidates: ArrayLike<number>, policy: Policy): number {
  return new Replayer(trace, policy).run(prompt, candidates);
}
