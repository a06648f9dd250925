import { describe, expect, it } from 'vitest';
import { compileCollectRequest, promptCandidates } from '../../coordinator/collect/request.js';
import { placeBatch, valueOffset, type WorkerCollectSource } from '../../core/contract/collect.js';
import type { CollectRequest__Output } from '../../core/generated/ttsnap/v1/CollectRequest.js';
import { checkCollectScores } from '../../worker/collect/check.js';

const info = { backend: 'onnx', steps: 20, maxBatch: 4, rewards: ['align', 'quality'], cost: { denoise: 1, verify: 2 }, tracePrompts: 0, traceCandidates: 0, renders: true, model: 'tiny' };
const source: WorkerCollectSource = { name: 'tiny', fingerprint: 'f'.repeat(64), variantSteps: { align: [2, 6, 11], quality: [2, 6, 11] }, info };
const req = (o: Partial<CollectRequest__Output> = {}): CollectRequest__Output => ({
  prompts: [0, 1], texts: ['a red circle', 'a blue square'], candidates: 6, seed: 7, rewards: ['align'], variant_steps: [{ reward: 'align', steps: [2, 6] }], fingerprint: source.fingerprint, save_tweedie: [], ...o,
});

describe('a Collect request', () => {
  it('compiles to prompts, plan and the candidates search draws', () => {
    const job = compileCollectRequest(req(), source);
    expect(job).toMatchObject({ prompts: [{ id: 0, text: 'a red circle' }, { id: 1, text: 'a blue square' }], candidates: 6, seed: 7, steps: 20, pool: 0, plan: { rewards: ['align'], variantSteps: { align: [2, 6] } } });
    expect(promptCandidates(0, 3, 7, 1, 'x').map((c) => c.candidate)).toEqual([0, 1, 2]);
    expect(compileCollectRequest(req({ save_tweedie: [2, 19] }), source).plan.saveTweedie).toEqual([2, 19]);
  });

  it('Tweedie images are asked only of a backend that has images', () => {
    const trace = { ...source, info: { ...info, backend: 'trace', renders: false } };
    expect(() => compileCollectRequest(req({ save_tweedie: [2] }), trace)).toThrow(/^save_tweedie: the trace backend has no images; allowed: none/);
    const candidates = [{ prompt: 0, candidate: 0, seed: 0, text: 'a', sampling: null }];
    expect(() => checkCollectScores({ job: 'c1', candidates, rewards: ['align'], variant_steps: [], fingerprint: '', save_tweedie: [2] }, trace.info, trace)).toThrow(/^save_tweedie: the trace backend/);
  });

  it.each([
    [{ prompts: [] }, /^prompts: 0 entries; allowed: 1 to 100000$/],
    [{ prompts: [0, 0] }, /^prompts\[1\]: 0 appears twice/],
    [{ texts: ['a'] }, /^texts: 1 entries for 2 prompts/],
    [{ texts: ['a', ' '] }, /^texts\[1\]: 1 characters/],
    [{ candidates: 0 }, /^candidates: got 0; allowed: an integer in \[1, 100000\]$/],
    [{ candidates: 60_000 }, /^candidates: 60000 candidates x 20 steps x 1 rewards need 9600000 bytes per prompt/],
    [{ rewards: ['nope'] }, /^rewards\[0\]: unknown reward 'nope'; allowed: align \| quality$/],
    [{ rewards: [] }, /^rewards: 0 entries/],
    [{ variant_steps: [{ reward: 'align', steps: [3] }] }, /^variant_steps\[0\]\.steps: no noise-aware align at step 3; allowed: steps of \[2, 6, 11\]$/],
    [{ variant_steps: [{ reward: 'quality', steps: [2] }] }, /^variant_steps\[0\]\.reward: 'quality' is not asked for/],
    [{ save_tweedie: [2, 20] }, /^save_tweedie\[1\]: got 20; allowed: a step in \[0, 19\]$/],
    [{ save_tweedie: [6, 2] }, /^save_tweedie\[1\]: 2 after 6; allowed: distinct steps in ascending order$/],
    [{ fingerprint: 'other' }, /^the workers serve\(s\) a bundle or trace with fingerprint ffffffffffff\.\.\., not the collection's other\.\.\.$/],
  ] as const)('%j is refused naming the field', (o, message) => {
    expect(() => compileCollectRequest(req(o as Partial<CollectRequest__Output>), source)).toThrow(message);
  });

  it('a worker takes at most one batch of its max batch', () => {
    const candidates = Array.from({ length: 5 }, (_, i) => ({ prompt: 0, candidate: i, seed: i, text: 'a', sampling: null }));
    expect(() => checkCollectScores({ job: 'c1', candidates, rewards: ['align'], variant_steps: [], fingerprint: '', save_tweedie: [] }, info, source)).toThrow(/^candidates: 5 entries; allowed: 1 to 4 \(the worker's max batch\)$/);
    expect(() => checkCollectScores({ job: 'a.b', candidates: candidates.slice(0, 2), rewards: ['align'], variant_steps: [], fingerprint: '', save_tweedie: [] }, info, source)).toThrow(/^job: /);
  });
});

describe('collected values', () => {
  it('a batch lands at its candidates in the prompt array [reward][base, narf][candidate][step]', () => {
    const S = 3;
    const batch = Float32Array.from({ length: 2 * 2 * 2 * S }, (_, i) => i + 1); // 2 rewards, 2 candidates
    const prompt = new Float32Array(2 * 2 * 5 * S); // 5 candidates
    placeBatch(prompt, batch, 3, 5, S, 2);
    expect(Array.from(prompt.subarray(valueOffset(1, 1, 3, 5, S), valueOffset(1, 1, 5, 5, S)))).toEqual(Array.from(batch.subarray(valueOffset(1, 1, 0, 2, S))));
    expect(Array.from(prompt.subarray(valueOffset(0, 0, 3, 5, S), valueOffset(0, 0, 4, 5, S)))).toEqual([1, 2, 3]);
    expect(prompt[valueOffset(0, 0, 2, 5, S)]).toBe(0);
  });
});
