// Per-job and per-prompt sampling settings for model workers that apply them (BackendInfo.sampling): what the
// coordinator accepts, merges, records and refuses, naming the field and the allowed values.
import { describe, expect, it } from 'vitest';
import { compileJobSpec } from '../../../coordinator/job-spec.js';
import { provenanceOf } from '../../../coordinator/result.js';
import type { BackendInfo } from '../../../core/contract/backend-info.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';

const limits = { per_candidate: true, width: 32, height: 32, size_step: 0, min_size: 0, max_size: 0, max_steps: 1000, guidance: 4, negative_prompt: '', guidance_doubles: false };
const fixed: BackendInfo = { backend: 'onnx', steps: 20, maxBatch: 4, rewards: ['align'], cost: { denoise: 1, verify: 1 }, tracePrompts: 0, traceCandidates: 0, renders: true, model: 'tiny', sampling: limits };
const dynamic: BackendInfo = { ...fixed, sampling: { ...limits, width: 1024, height: 1024, size_step: 16, min_size: 256, max_size: 2048 } };
const schedule = [...PAPER_SCHEDULE]; // prunes at steps 2, 6, 11

describe('sampling settings for model workers', () => {
  it("charges a step by the passes a prompt's guidance runs: the workers' cost is for their own guidance", () => {
    // workers at guidance 4 with classifier-free guidance: 10 a step is two passes of 5
    const cfg: BackendInfo = { ...fixed, cost: { denoise: 10, verify: 1 }, sampling: { ...limits, guidance_doubles: true } };
    const spec = compileJobSpec({ texts: ['a', 'b', 'c'], candidates: 8, schedule, prompt_settings: [{}, { sampling: { guidance: 1 } }, { sampling: { guidance: 7.5 } }] }, cfg);
    expect(spec.cost.denoise).toBe(10);
    expect(spec.promptDenoise).toEqual([10, 5, 10]);
    const plan = (info: BackendInfo, guidance: number) => compileJobSpec({ texts: ['a'], candidates: 8, schedule, sampling: { guidance } }, info).planned;
    const [two, one] = [plan(cfg, 4), plan(cfg, 1)];
    expect(one.denoise_steps).toBe(two.denoise_steps);
    expect(two.cost - one.cost).toBe(5 * two.denoise_steps);
    expect(spec.planned.cost).toBe(2 * two.cost + one.cost);
    // a job at guidance 1 on these workers: every step one pass; budgets buy accordingly
    expect(compileJobSpec({ texts: ['a'], candidates: 8, schedule, sampling: { guidance: 1 } }, cfg).cost.denoise).toBe(5);
    expect(compileJobSpec({ texts: ['a'], budget: one.cost, schedule, sampling: { guidance: 1 } }, cfg).n).toBe(8);
    // workers whose guidance is an input (FLUX), and a cost the job gives itself: the same for every prompt
    expect(compileJobSpec({ texts: ['a', 'b'], candidates: 8, schedule, prompt_settings: [{}, { sampling: { guidance: 1 } }] }, { ...cfg, sampling: { ...limits } }).promptDenoise).toEqual([10, 10]);
    expect(compileJobSpec({ texts: ['a', 'b'], candidates: 8, schedule, cost: { denoise: 3, verify: 1 }, prompt_settings: [{}, { sampling: { guidance: 1 } }] }, cfg).promptDenoise).toEqual([3, 3]);
  });

  it('merges each prompt over the job field by field and gives each prompt its own steps, N and plan', () => {
    const spec = compileJobSpec(
      {
        texts: ['a', 'b', 'c'],
        candidates: 8,
        schedule,
        sampling: { guidance: 6, negative_prompt: 'blurry' },
        prompt_settings: [{}, { sampling: { steps: 30, guidance: 2 } }, { sampling: { negative_prompt: 'dark' } }],
      },
      fixed,
    );
    expect(spec.promptSampling).toEqual([
      { guidance: 6, steps: 0, negative_prompt: 'blurry', width: 0, height: 0 },
      { guidance: 2, steps: 30, negative_prompt: 'blurry', width: 0, height: 0 },
      { guidance: 6, steps: 0, negative_prompt: 'dark', width: 0, height: 0 },
    ]);
    expect(spec.promptSteps).toEqual([20, 30, 20]);
    // provenance: the job's settings as the workers run them, unset fields filled from what they report
    expect(spec.sampling).toEqual({ guidance: 6, steps: 20, negative_prompt: 'blurry', width: 32, height: 32 });
    expect(provenanceOf(spec, fixed, 'v').sampling).toEqual({ guidance: 6, steps: 20, negative_prompt: 'blurry', width: 32, height: 32 });
    // the 30-step prompt's candidates each take 10 more steps to the end than the 20-step prompts' finalists
    const one = (steps: number) => compileJobSpec({ texts: ['a'], candidates: 8, schedule, sampling: { steps } }, fixed).planned.denoise_steps;
    expect(spec.planned.denoise_steps).toBe(2 * one(20) + one(30));
    expect(one(30) - one(20)).toBe(10);
  });

  it('a job\'s steps set its default schedule, its cost and where a custom schedule may prune', () => {
    const spec = compileJobSpec({ texts: ['a'], candidates: 8, sampling: { steps: 40 }, schedule: [{ step: 30, alpha: 0.5 }] }, fixed);
    expect(spec.promptSteps).toEqual([40]);
    expect(spec.cost.steps).toBe(40);
    expect(compileJobSpec({ texts: ['a'], candidates: 8, sampling: { steps: 8 } }, fixed).schedule).toEqual([]); // the paper's does not fit 8 steps
  });

  it('refuses steps that the schedule does not fit, naming the field and the step counts that do', () => {
    const bad = (req: object, message: string) => expect(() => compileJobSpec({ texts: ['a', 'b'], candidates: 8, schedule, ...req }, fixed)).toThrow(message);
    bad({ prompt_settings: [{}, { sampling: { steps: 12 } }] }, 'prompt_settings[1].sampling.steps: got 12; the schedule prunes at step 11; allowed: an integer in [13, 1000] (or a schedule whose prune steps are <= steps - 2)');
    bad({ sampling: { steps: 10 } }, 'schedule[2].step: got 11; allowed: an integer in [0, 8] (steps - 2)');
    bad({ sampling: { steps: 1001 } }, 'sampling.steps: got 1001; allowed: an integer in [2, 1000] (0 = not set)');
    bad({ prompt_settings: [{ sampling: { steps: 1 } }, {}] }, 'prompt_settings[0].sampling.steps: got 1; allowed: an integer in [2, 1000] (0 = not set)');
    bad({ prompt_settings: [{ sampling: { steps: 2.5 } }, {}] }, 'prompt_settings[0].sampling.steps: got 2.5; allowed: an integer in [2, 1000] (0 = not set)');
    bad({ sampling: { guidance: -1 } }, 'sampling.guidance: got -1; allowed: a number in (0, 100] (0 = not set)');
  });

  it('a bundle with fixed spatial dims takes only its own size; a dynamic one multiples of its step in its range', () => {
    const sizes = (info: BackendInfo, width: number, height: number) => compileJobSpec({ texts: ['a'], candidates: 4, sampling: { width, height } }, info).sampling;
    expect(sizes(fixed, 32, 32)).toEqual({ guidance: 4, steps: 20, negative_prompt: '', width: 32, height: 32 });
    expect(() => sizes(fixed, 64, 32)).toThrow("sampling.width: got 64; allowed: 32 (0 = not set): the bundle's exports have fixed spatial dims, 32x32");
    expect(() => sizes(fixed, 32, 48)).toThrow("sampling.height: got 48; allowed: 32 (0 = not set): the bundle's exports have fixed spatial dims, 32x32");
    expect(sizes(dynamic, 768, 512)).toMatchObject({ width: 768, height: 512 });
    expect(() => sizes(dynamic, 760, 512)).toThrow('sampling.width: got 760; allowed: a multiple of 16 in [256, 2048] (0 = not set)');
    expect(() => sizes(dynamic, 768, 4096)).toThrow('sampling.height: got 4096; allowed: a multiple of 16 in [256, 2048] (0 = not set)');
  });
});
