import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepCount, PAPER_SCHEDULE, formatSchedule } from '../../../core/engine/schedule.js';
import { formatNpy } from '../../../core/trace/npy.js';
import { traceOffset, type RewardTrace } from '../../../core/trace/reward-trace.js';
import { syntheticTrace } from '../../../core/trace/synthetic.js';
import { drawCandidates } from '../../../coordinator/candidates.js';
import { engineAlone } from './engine-alone.js';
import { TestCluster } from './cluster.js';
import { searchCli } from './search-cli.js';

// A broken reward model: NaN and +-Infinity at some candidates and steps, replayed by worker processes started
// with --allow-nonfinite, scores through a real nats-server. The job must complete, and its winners must be
// those of a plain re-ranking that puts non-finite scores last (ties to the lower id).
const PROMPTS = 6;
const N = 30;
const SEED = 3;
const BAD = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/** Poisons, in every prompt, the clean winner's final value and every 5th explored candidate at every prune step. */
function poison(t: RewardTrace): number {
  let count = 0;
  const clean = engineAlone(Array.from({ length: PROMPTS }, (_, p) => p), N, PAPER_SCHEDULE, SEED, t);
  for (const { prompt, winner, explored } of clean) {
    t.base[traceOffset(t, prompt, winner) + t.steps - 1] = BAD[prompt % 3] as number;
    count++;
    explored.forEach((c, j) => {
      if (j % 5 !== 0) return;
      for (const { step } of PAPER_SCHEDULE) t.narf[traceOffset(t, prompt, c) + step] = BAD[(j + step) % 3] as number;
      count++;
    });
  }
  return count;
}

/** Independent of the engine: sort the alive candidates by (finite score or -Infinity) descending, then id. */
function reference(t: RewardTrace, prompt: number): number {
  let alive = [...drawCandidates(t.candidates, N, SEED, prompt)];
  const ranked = (src: Float32Array, step: number): number[] => {
    const score = (c: number): number => {
      const v = src[traceOffset(t, prompt, c) + step] as number;
      return Number.isFinite(v) ? v : Number.NEGATIVE_INFINITY;
    };
    return [...alive].sort((a, b) => score(b) - score(a) || a - b);
  };
  for (const { step, alpha } of PAPER_SCHEDULE) alive = ranked(t.narf, step).slice(0, keepCount(alive.length, alpha));
  return ranked(t.base, t.steps - 1)[0] as number;
}

describe('non-finite rewards: a trace with NaN and Infinity, workers with --allow-nonfinite', () => {
  const cluster = new TestCluster();
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-nonfinite-'));
  const t = syntheticTrace({ prompts: PROMPTS, candidates: 80, steps: 20, seed: 11, name: 'broken_pic' });
  let poisoned = 0;
  beforeAll(async () => {
    poisoned = poison(t);
    const shape = [t.prompts, t.candidates, t.steps];
    cluster.traceFiles = { base: join(dir, 'broken_pic_base.npy'), narf: join(dir, 'broken_pic_narf.npy') };
    writeFileSync(cluster.traceFiles.base, formatNpy({ shape, data: t.base }));
    writeFileSync(cluster.traceFiles.narf, formatNpy({ shape, data: t.narf }));
    await cluster.startAll(['w1', 'w2'], 2, 4, ['--allow-nonfinite']);
  });
  afterAll(async () => {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the job completes and its winners are those of ranking non-finite scores last', async () => {
    expect(poisoned).toBeGreaterThan(PROMPTS * 6);
    const args = ['--coordinator', cluster.coordinatorAddr, '--prompts', `0:${PROMPTS}`, '--candidates', String(N), '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', String(SEED)];
    const { doc } = await searchCli(args);
    const expected = Array.from({ length: PROMPTS }, (_, p) => reference(t, p));
    expect(doc.prompts.map((p) => p.winner.candidate)).toEqual(expected);
    // the clean winners were poisoned at the last step: none of them may win now
    const clean = engineAlone(Array.from({ length: PROMPTS }, (_, p) => p), N, PAPER_SCHEDULE, SEED, syntheticTrace({ prompts: PROMPTS, candidates: 80, steps: 20, seed: 11 }));
    doc.prompts.forEach((p, i) => expect(p.winner.candidate).not.toBe(clean[i]?.winner));
    // every candidate stays explored, NaN or not, and each winner's reward is finite
    doc.prompts.forEach((p) => expect(p.explored).toHaveLength(N));
    doc.prompts.forEach((p) => expect(Number.isFinite(p.winner.rewards.pic)).toBe(true));
  });
});
