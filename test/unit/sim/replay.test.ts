import { describe, expect, it } from 'vitest';
import { makePolicy } from '../../../core/engine/policy.js';
import { PromptSearch } from '../../../core/engine/prompt-search.js';
import { Rng, sampleWithoutReplacement } from '../../../core/engine/rng.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { RankTable } from '../../../core/sim/rank-table.js';
import { Replayer, replayPrompt, traceRanks } from '../../../core/sim/replay.js';
import type { RewardTrace } from '../../../core/trace/reward-trace.js';
import { syntheticTrace } from '../../../core/trace/synthetic.js';

function tinyTrace(values: number[][][], narf?: number[][][]): RewardTrace {
  const [p, c, s] = [values.length, values[0]!.length, values[0]![0]!.length];
  return { name: 'tiny', prompts: p, candidates: c, steps: s, base: Float32Array.from(values.flat(2)), narf: Float32Array.from((narf ?? values).flat(2)), hasNarf: narf !== undefined };
}

describe('RankTable', () => {
  it('ranks higher rewards first and equal rewards by lower id, -0 equal to +0', () => {
    // one prompt, 5 candidates, 2 steps; step 0 rewards: 0.5, -1, 0.5, -0, 0
    const t = tinyTrace([[[0.5, 9], [-1, 9], [0.5, 9], [-0, 9], [0, 9]]]);
    const table = new RankTable(t, t.base).ensure([0, 1]);
    const at0 = table.offset(0, 0);
    expect([...table.ranks.subarray(at0, at0 + 5)]).toEqual([0, 4, 1, 2, 3]);
    const at1 = table.offset(0, 1);
    expect([...table.ranks.subarray(at1, at1 + 5)]).toEqual([0, 1, 2, 3, 4]); // all tie: id order
  });
  it('ranks non-finite rewards last in id order, as the engine does', () => {
    // step 0 rewards: NaN, 0.5, +Inf, -3.4e38 (near -FLT_MAX), -Inf, 0.1
    const t = tinyTrace([[[Number.NaN, 0], [0.5, 0], [Number.POSITIVE_INFINITY, 0], [-3.4e38, 0], [Number.NEGATIVE_INFINITY, 0], [0.1, 0]]]);
    const table = new RankTable(t, t.base).ensure([0]);
    const at0 = table.offset(0, 0);
    expect([...table.ranks.subarray(at0, at0 + 6)]).toEqual([3, 0, 4, 2, 5, 1]);
    const s = new PromptSearch([0, 1, 2, 3, 4, 5], [{ step: 0, alpha: 0.5 }], 2);
    s.advanceRanked(table.ranks, at0, 6);
    const byScores = new PromptSearch([0, 1, 2, 3, 4, 5], [{ step: 0, alpha: 0.5 }], 2);
    byScores.advance([Float64Array.from([0, 1, 2, 3, 4, 5], (i) => t.base[i * 2] as number)]);
    expect([...s.alive()].sort()).toEqual([...byScores.alive()].sort());
    expect([...s.alive()]).toEqual([1, 5, 3]);
  });
});

describe('Replayer', () => {
  it('reads narf at prune points and base at the end; returns the winner\'s final base reward', () => {
    // 4 candidates, 3 steps, prune at step 0 keeping 1 (alpha 0.25)
    const base = [[[0.9, 0, 0.1], [0.1, 0, 0.8], [0.2, 0, 0.5], [0.3, 0, 0.7]]];
    const narf = [[[0.1, 0, 0.1], [0.9, 0, 0.8], [0.2, 0, 0.5], [0.3, 0, 0.7]]];
    const t = tinyTrace(base, narf);
    const schedule = [{ step: 0, alpha: 0.25 }];
    expect(replayPrompt(t, 0, [0, 1, 2, 3], makePolicy('ttsnap', schedule))).toBeCloseTo(0.8, 6); // narf keeps id 1
    expect(replayPrompt(t, 0, [0, 1, 2, 3], makePolicy('ttsp', schedule))).toBeCloseTo(0.1, 6); // base keeps id 0
    expect(replayPrompt(t, 0, [0, 1, 2, 3], makePolicy('bon', []))).toBeCloseTo(0.8, 6);
    expect(replayPrompt(t, 0, [0, 2, 3], makePolicy('bon', []))).toBeCloseTo(0.7, 6);
  });

  it('picks exactly what PromptSearch.submit picks on the raw rewards (ties included)', () => {
    const trace = syntheticTrace({ prompts: 6, candidates: 90, steps: 20, seed: 3 });
    // Quantise half of the rewards so that ties are common.
    for (let i = 0; i < trace.base.length; i += 2) trace.base[i] = Math.round((trace.base[i] as number) * 4) / 4;
    const ranks = traceRanks(trace);
    const rng = new Rng(11);
    for (const name of ['bon', 'ttsnap', 'ttsp'] as const) {
      const policy = makePolicy(name, PAPER_SCHEDULE);
      const replayer = new Replayer(trace, policy, ranks);
      for (let d = 0; d < 30; d++) {
        const cols = sampleWithoutReplacement(trace.candidates, 1 + rng.below(trace.candidates), rng);
        for (let p = 0; p < trace.prompts; p++) {
          expect(replayer.run(p, cols)).toBe(naiveReplay(trace, p, cols, policy.schedule, policy.pruneReward));
        }
      }
    }
  });
});

/** The same search driven through submit() with float rewards, no rank tables. */
function naiveReplay(t: RewardTrace, p: number, cols: Int32Array, schedule: typeof PAPER_SCHEDULE, prune: 'narf' | 'base'): number {
  const search = new PromptSearch(cols, schedule, t.steps);
  const at = (src: Float32Array, id: number, s: number): number => src[(p * t.candidates + id) * t.steps + s] as number;
  while (!search.done) {
    const req = search.request();
    const src = req.final || prune === 'base' ? t.base : t.narf;
    search.submit([[...search.alive()].map((id) => at(src, id, req.step))]);
  }
  return at(t.base, search.winner(), t.steps - 1);
}
