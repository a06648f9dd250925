import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressLine } from '../../../cli/render/search-progress/progress-line.js';
import { planPerPrompt } from '../../../cli/render/search-progress/plan.js';
import { eventNote, progressReporter } from '../../../cli/render/search-progress/reporter.js';
import { count, makespanText, movementText, timelineText } from '../../../cli/render/search-summary.js';
import { StageProgress } from '../../../cli/render/search-progress/stage-progress.js';
import { plannedLedger } from '../../../core/engine/ledger.js';
import type { JobEvent } from '../../../core/generated/ttsnap/v1/JobEvent.js';

const schedule = [{ step: 2, alpha: 0.4 }, { step: 6, alpha: 0.5 }];
// per prompt: 10 x 3 steps + 10 calls x 0.5 = 35 at step 2; keep 4: 4 x 4 + 2 = 18 at step 6; keep 2: 2 x 13 + 1 = 27 at 19
const plan = plannedLedger(10, schedule, { denoise: 1, verify: 0.5, steps: 20 }, 'exact', ['align']);
const pruned = (prompt: number, step: number, kept: number[], gone: number[], at: number): JobEvent => ({ job: 'j', at_s: at, pruned: { prompt, step, kept, pruned: gone } });
const final = (prompt: number, alive: number, at: number): JobEvent => ({ job: 'j', at_s: at, stage: { prompt, step: 19, alive, final: true } });
const budget = (done: number, cost: number, at: number): JobEvent => ({ job: 'j', at_s: at, budget: { cost, planned: 160, prompts_done: done, prompts: 2 } });

describe('search progress', () => {
  it('counts prompts and candidates per stage and costs the stages passed as planned', () => {
    expect(plan.cost).toBe(80);
    const p = new StageProgress(2, plan);
    expect(p.snapshot(0).stages.map((s) => [s.step, s.prompts])).toEqual([[2, 0], [6, 0], [19, 0]]);
    p.onEvent(pruned(0, 2, [1, 4, 5, 7], [0, 2, 3, 6, 8, 9], 1));
    p.onEvent(pruned(1, 2, [0, 1, 2, 3], [4, 5, 6, 7, 8, 9], 1.5));
    p.onEvent(pruned(0, 6, [4, 7], [1, 5], 2));
    const mid = p.snapshot(2);
    expect(mid.stages).toEqual([
      { step: 2, final: false, prompts: 2, candidates: 20, kept: 8 },
      { step: 6, final: false, prompts: 1, candidates: 4, kept: 2 },
      { step: 19, final: true, prompts: 0, candidates: 0, kept: 0 },
    ]);
    expect([mid.spent, mid.planned, mid.rate, mid.leftS]).toEqual([35 * 2 + 18, 160, 44, 72 / 44]);
    expect(progressLine(mid)).toBe(
      'search 2.0 s: 0/2 prompts done | step 2: 2/2 prompts, 20 scored, 8 kept | step 6: 1/2 prompts, 4 scored, 2 kept | final step 19: 0/2 | cost 88.00 of 160.0 planned (55%), 44.00/s, 1.6 s left',
    );
    p.onEvent(final(0, 2, 2));
    p.onEvent(budget(1, 80, 3));
    const one = p.snapshot(3);
    expect(one.stages[2]).toEqual({ step: 19, final: true, prompts: 1, candidates: 2, kept: 0 });
    expect(one.spent).toBe(35 * 2 + 18 + 27);
    // events that are not about stages or the budget change nothing
    expect(p.onEvent({ job: 'j', at_s: 3, moved: { prompt: 0, candidate: 1, from_worker: 'a', to_worker: 'b', bytes: 1 } })).toBe(false);
  });

  it('without a plan (a remote job) the spent figure is the ledger of finished prompts, and no time left is claimed', () => {
    const p = new StageProgress(2, null);
    p.onEvent(pruned(0, 2, [1], [0], 1));
    expect(p.snapshot(1)).toMatchObject({ spent: 0, planned: null, leftS: null, stages: [{ step: 2, final: false, prompts: 1, candidates: 2, kept: 1 }] });
    p.onEvent(budget(1, 40, 2));
    expect(p.snapshot(2)).toMatchObject({ spent: 40, planned: 160, rate: 20, leftS: 6, promptsDone: 1 });
  });

  it("a remote job's budget events between prompts give the plan and the time left before any prompt is done", () => {
    const p = new StageProgress(2, null);
    p.onEvent(pruned(0, 2, [1], [0], 1));
    p.onEvent(budget(0, 32, 1));
    expect(p.snapshot(2)).toMatchObject({ spent: 32, planned: 160, rate: 16, leftS: 8, promptsDone: 0 });
    // a cost equal to the plan but for the last bits of a sum in another order reads 100 %, not 99
    const done = { ...p.snapshot(2), spent: 0.7 - 0.4, planned: 0.3 };
    expect(progressLine(done)).toContain('cost 0.3000 of 0.3000 planned (100%)');
  });

  it('planPerPrompt follows the policy: best-of-N has no prune points; an unknown backend gives no plan', () => {
    const backend = { steps: 20, rewards: ['align', 'quality'], cost: { denoise: 1, verify: 0.5 } };
    expect(planPerPrompt({ schedule, policy: 'ttsnap' }, backend, 10)).toEqual(plan);
    expect(planPerPrompt({ schedule, policy: 'bon' }, backend, 10)?.stages.map((s) => s.step)).toEqual([19]);
    expect(planPerPrompt({ schedule }, null, 10)).toBeNull();
  });

  it('gives a worker lost and a job waiting or going on a line of their own, and nothing else', () => {
    expect(eventNote({ job: 'j', at_s: 1, worker_lost: { worker: 'w1', candidates: 3 } })).toBe('worker w1 lost; its candidates continue elsewhere');
    expect(eventNote({ job: 'j', at_s: 2, waiting: { waiting: true, pool: 'p@1', reason: 'no worker of pool p@1 is registered: start one' } })).toBe(
      'job waits: no worker of pool p@1 is registered: start one',
    );
    expect(eventNote({ job: 'j', at_s: 3, waiting: { waiting: false, pool: 'p@1', reason: '' } })).toBe('job continues: a worker takes its candidates');
    expect(eventNote(budget(1, 80, 3))).toBeNull();
  });

  it("on a terminal, a remote job's bar goes by the planned cost once the coordinator's first budget event gives it", () => {
    const frames: string[] = [];
    const tty = Object.assign(new Writable({ write: (chunk: Buffer, _enc, done) => void (frames.push(chunk.toString()), done()) }), {
      isTTY: true,
      columns: 400,
      cursorTo: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
      moveCursor: () => true,
    });
    const reporter = progressReporter(tty as unknown as NodeJS.WriteStream, { prompts: 2, planPerPrompt: null });
    reporter.onEvent(pruned(0, 2, [1, 4, 5, 7], [0, 2, 3, 6, 8, 9], 1));
    reporter.onEvent(budget(0, 40, 1));
    reporter.stop();
    const last = frames.join('').split('\r').filter((f) => f.includes('search [')).at(-1) ?? '';
    expect(last).toContain('] 25% | step 2: 1/2 prompts, 10 scored, 4 kept');
    expect(last).toContain('cost 40.00 of 160.0 planned (25%)');
  });

  it('counts with the noun in the singular for one', () => {
    expect([count(1, 'prompt'), count(0, 'prompt'), count(2, 'denoise step')]).toEqual(['1 prompt', '0 prompts', '2 denoise steps']);
    expect(progressLine({ ...new StageProgress(1, null).snapshot(1), stages: [{ step: 19, final: true, prompts: 1, candidates: 1, kept: 0 }] })).toContain('final step 19: 1/1 prompts, 1 finalist |');
  });

  it('says how many workers were busy, and for how long, beside the makespan', () => {
    expect(timelineText({ makespan_s: 2, worker_busy_s: { w1: 0.5 }, waited_s: 0 })).toBe('2.00 s; 1 worker busy 0.50 s in all');
    expect(timelineText({ makespan_s: 2, worker_busy_s: { w1: 0.5, w2: 1.25 }, waited_s: 0 })).toBe('2.00 s; 2 workers busy 1.75 s in all');
  });

  it('says how much of the makespan went waiting for a worker, only when some did', () => {
    expect(makespanText({ makespan_s: 12.345, worker_busy_s: {}, waited_s: 0 })).toBe('12.35 s');
    expect(makespanText({ makespan_s: 12.345, worker_busy_s: {}, waited_s: 3.5 })).toBe('12.35 s (3.50 s of it waiting for a worker)');
  });

  it('says what lost workers cost: recomputed steps, and the steps they may have run that were never scored', () => {
    const m = { moves: 2, bytes: 4096, recomputed_steps: 40, workers_lost: 1, unscored_steps: 0 };
    expect(movementText(m)).toBe('2 (4096 bytes); workers lost 1, denoise steps recomputed 40');
    expect(movementText({ ...m, unscored_steps: 21 })).toBe('2 (4096 bytes); workers lost 1, denoise steps recomputed 40, up to 21 more run and never scored');
  });
});
