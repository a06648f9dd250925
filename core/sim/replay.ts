import { PromptSearch } from '../engine/prompt-search.js';
import type { Policy } from '../engine/policy.js';
import type { RewardTrace } from '../trace/reward-trace.js';
import { RankTable } from './rank-table.js';

/** The rank tables of one trace, shared by every replayer on it. */
export interface TraceRanks {
  readonly base: RankTable;
  readonly narf: RankTable;
}

export function traceRanks(trace: RewardTrace): TraceRanks {
  const base = new RankTable(trace, trace.base);
  return { base, narf: trace.hasNarf ? new RankTable(trace, trace.narf) : base };
}

/**
 * Replays prompts of a trace through the engine's PromptSearch, reading each requested score from the
 * trace's rank tables (same order as the rewards, see RankTable). One Replayer serves one (trace, policy)
 * pair and reuses its search and scratch buffers, so a replay allocates nothing: the simulator runs
 * millions of them.
 */
export class Replayer {
  private readonly search: PromptSearch;
  private readonly prune: RankTable;
  private readonly final: RankTable;

  constructor(
    private readonly trace: RewardTrace,
    readonly policy: Policy,
    ranks: TraceRanks = traceRanks(trace),
  ) {
    this.search = new PromptSearch([0], policy.schedule, trace.steps, trace.candidates);
    this.prune = (policy.pruneReward === 'narf' ? ranks.narf : ranks.base).ensure(policy.schedule.map((p) => p.step));
    this.final = ranks.base.ensure([trace.steps - 1]);
  }

  /** The winner's final (base) reward when `candidates` of `prompt` are searched under the policy. */
  run(prompt: number, candidates: ArrayLike<number>): number {
    const { trace, search } = this;
    const c = trace.candidates;
    search.reset(candidates);
    for (;;) {
      const req = search.request();
      const table = req.final ? this.final : this.prune;
      search.advanceRanked(table.ranks, table.offset(prompt, req.step), c);
      if (search.done) return trace.base[(prompt * c + search.winner()) * trace.steps + trace.steps - 1] as number;
    }
  }
}

/** Runs one policy on one prompt (a convenience over Replayer for one-off replays). */
export function replayPrompt(trace: RewardTrace, prompt: number, candidates: ArrayLike<number>, policy: Policy): number {
  return new Replayer(trace, policy).run(prompt, candidates);
}
