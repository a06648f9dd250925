// Per-prompt overrides (JSONL prompts files) and per-job sampling settings carried in the job request.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticPair } from '../../../bench/trace-pair.js';
import { compileJobSpec } from '../../../coordinator/job-spec.js';
import { resultJson } from '../../../coordinator/result.js';
import type { BackendInfo } from '../../../core/contract/backend-info.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { ValidationError } from '../../../core/errors.js';
import { startEmbedded, type EmbeddedCluster } from '../../../process/embedded.js';

const trace: BackendInfo = { backend: 'trace', steps: 20, maxBatch: 4, rewards: ['pic'], cost: { denoise: 1, verify: 1 }, tracePrompts: 50, traceCandidates: 64, renders: false, model: 't' };
const onnx: BackendInfo = { ...trace, backend: 'onnx', tracePrompts: 0, traceCandidates: 0, renders: true };
const schedule = [...PAPER_SCHEDULE];

describe('compileJobSpec with overrides', () => {
  it('gives each prompt its own N and seed, and plans the job as the sum of its prompts', () => {
    const spec = compileJobSpec({ prompts: [1, 2, 3], candidates: 16, seed: 5, schedule, prompt_settings: [{ candidates: 40 }, {}, { seed: 0, has_seed: true }] }, trace);
    expect(spec.promptN).toEqual([40, 16, 16]);
    expect(spec.promptSeed).toEqual([5, 5, 0]);
    const one = (n: number) => compileJobSpec({ prompts: [1], candidates: n, schedule }, trace).planned;
    expect(spec.planned.denoise_steps).toBe(one(40).denoise_steps + 2 * one(16).denoise_steps);
    expect(spec.planned.candidates).toBe(72);
  });

  it('refuses bad overrides naming the prompt and field', () => {
    const bad = (req: object, message: string) => expect(() => compileJobSpec({ prompts: [1, 2], candidates: 8, schedule, ...req }, trace)).toThrow(message);
    bad({ prompt_settings: [{}] }, 'prompt_settings: 1 entries for 2 prompts');
    bad({ prompt_settings: [{}, { candidates: 65 }] }, 'prompt_settings[1].candidates: got 65; allowed: an integer in [1, 64]');
    bad({ prompt_settings: [{ candidates: 2, budget: 9 }, {}] }, 'prompt_settings[0].candidates: given with budget');
    bad({ prompt_settings: [{ sampling: { guidance: 500 } }, {}] }, 'prompt_settings[0].sampling.guidance: got 500');
    bad({ top_k: 5, prompt_settings: [{ candidates: 4 }, {}] }, 'top_k: got 5; allowed: an integer in [0, 4]');
  });

  it('model workers that do not report SamplingLimits (older workers) refuse sampling settings rather than ignore them', () => {
    expect(() => compileJobSpec({ texts: ['a cat'], candidates: 4, sampling: { guidance: 3 } }, onnx)).toThrow(ValidationError);
    expect(() => compileJobSpec({ texts: ['a cat'], candidates: 4, prompt_settings: [{ sampling: { negative_prompt: 'blurry' } }] }, onnx)).toThrow(
      'prompt_settings[0].sampling: set for the onnx backend, whose workers do not apply sampling settings per job or prompt; allowed: none: these workers run their own sampling settings (worker flags --guidance, --steps, --negative-prompt)',
    );
    // seeds and N per prompt need nothing from the workers
    expect(compileJobSpec({ texts: ['a cat', 'a dog'], candidates: 4, prompt_settings: [{ candidates: 6 }, {}] }, onnx).promptN).toEqual([6, 4]);
  });
});

describe('a job with overrides (embedded, synthetic trace)', () => {
  let dir = '';
  let cluster: EmbeddedCluster;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ttsnap-ovr-'));
    const { base, narf } = writeSyntheticPair(dir, 20, 64);
    cluster = await startEmbedded({ backend: 'trace', backendOptions: { base, narf, maxBatch: '8', stepMs: '0' }, workers: 2 });
  });
  afterAll(async () => {
    await cluster?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (req: Parameters<EmbeddedCluster['coordinator']['submit']>[0]) => {
    const job = cluster.coordinator.submit(req);
    await cluster.coordinator.whenEnded(job.id);
    return resultJson(cluster.coordinator.result(job.id), 0);
  };

  it('searches each prompt as a job with its settings would, and records the overrides in its result', async () => {
    const mixed = await run({ prompts: [3, 7, 11], candidates: 16, seed: 1, schedule, prompt_settings: [{ seed: 9, has_seed: true }, { candidates: 40 }, { sampling: { guidance: 4.5, negative_prompt: 'blurry' } }] });
    const alone = (prompt: number, n: number, seed: number) => run({ prompts: [prompt], candidates: n, seed, schedule }).then((r) => r.prompts[0]);
    const [a, b, c] = await Promise.all([alone(3, 16, 9), alone(7, 40, 1), alone(11, 16, 1)]);
    expect(mixed.prompts.map((p) => [p.winner.candidate, p.explored.length])).toEqual([a, b, c].map((p) => [p?.winner.candidate, p?.explored.length]));
    expect(mixed.prompts.map((p) => p.settings)).toEqual([{ seed: 9 }, { candidates: 40 }, { guidance: 4.5, negative_prompt: 'blurry' }]);
    expect(mixed.ledger.candidates).toBe(16 + 40 + 16);
  });
});
