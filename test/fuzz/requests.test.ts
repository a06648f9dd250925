import fc from 'fast-check';
import { describe, it } from 'vitest';
import { compileJobSpec } from '../../coordinator/job-spec.js';
import { parseHostPort } from '../../core/grpc/address.js';
import { checkBackendInfo, checkJobId, checkLatentState, checkRef, checkRefs, checkRewardRefs, checkStep, checkTakeCandidates, checkWorkerId } from '../../core/security/requests.js';
import type { BackendInfo } from '../../core/contract/backend-info.js';
import { fuzz } from './harness.js';

// Values as gRPC decodes them (the wire fixes the types), biased to the edges of each range.
const u32 = fc.oneof({ weight: 4, arbitrary: fc.nat(30) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 27, 28, 1000, 2 ** 31, 2 ** 32 - 1) });
const dbl = fc.oneof(fc.double({ min: 0, max: 5000, noNaN: true }), fc.double(), fc.constantFrom(0, -1, 1e-12, 1e12, 1e308, Number.NaN, Infinity, -Infinity));
const str = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('', ' ', 'ttsnap', 'ttsp', 'bon', 'exact', 'paper', 'pic', 'hps', 'a.b', '*', '>', 'x'.repeat(3000)));
const token = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), str);

const TRACE: BackendInfo = { backend: 'trace', steps: 28, maxBatch: 8, rewards: ['pic', 'hps'], cost: { denoise: 1, verify: 0.5 }, tracePrompts: 20, traceCandidates: 100, renders: false, model: 'fuzz' };
const MODEL: BackendInfo = { ...TRACE, backend: 'onnx', steps: 20, tracePrompts: 0, traceCandidates: 0, renders: true };

const submit = fc.record(
  {
    prompts: fc.array(u32, { maxLength: 6 }),
    texts: fc.array(fc.oneof(fc.constantFrom('a cat', 'a red cube'), str), { maxLength: 3 }),
    budget: dbl,
    candidates: u32,
    schedule: fc.array(fc.record({ step: u32, alpha: dbl }), { maxLength: 4 }),
    seed: u32,
    policy: str,
    rewards: fc.array(fc.oneof(fc.constantFrom('pic', 'hps'), str), { maxLength: 3 }),
    top_k: u32,
    cost: fc.option(fc.record({ denoise: dbl, verify: dbl })),
    accounting: str,
    images: fc.boolean(),
    label: str,
  },
  { requiredKeys: [] },
);

/** A valid request with one or two fields replaced by generated values: reaches the checks behind the first. */
function nearlyValid(valid: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(submit, fc.subarray(['prompts', 'texts', 'budget', 'candidates', 'schedule', 'seed', 'policy', 'rewards', 'top_k', 'cost', 'accounting', 'label'], { maxLength: 2 })).map(([random, keys]) => {
    const out: Record<string, unknown> = { ...valid };
    for (const k of keys) out[k] = (random as Record<string, unknown>)[k];
    return out;
  });
}
const traceJob = { prompts: [0, 1, 2], candidates: 16, schedule: [{ step: 5, alpha: 0.5 }], rewards: ['pic'], top_k: 2 };
const modelJob = { texts: ['a cat'], budget: 500, schedule: [{ step: 5, alpha: 0.5 }], rewards: ['pic', 'hps'] };

const sampling = fc.record({ guidance: dbl, steps: u32, negative_prompt: str, width: u32, height: u32 });
const info = fc.record({
  backend: fc.oneof(fc.constantFrom('trace', 'onnx'), str),
  steps: u32,
  max_batch: u32,
  rewards: fc.array(token, { maxLength: 18 }),
  cost: fc.option(fc.record({ denoise: dbl, verify: dbl })),
  trace_prompts: u32,
  trace_candidates: u32,
  renders: fc.boolean(),
  previews: fc.boolean(),
  model: str,
  provider: fc.oneof(fc.constantFrom('cpu', 'cuda', 'simulated', ''), str),
  fingerprint: fc.oneof(fc.constant(''), str),
  sampling: fc.option(fc.record({ per_candidate: fc.boolean(), width: u32, height: u32, size_step: u32, min_size: u32, max_size: u32, max_steps: u32, guidance: dbl, negative_prompt: str, guidance_doubles: fc.boolean() })),
});

const ref = fc.record({ prompt: u32, candidate: u32 });
const refs = fc.oneof({ weight: 5, arbitrary: fc.array(ref, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.constant(Array.from({ length: 4097 }, () => ({ prompt: 0, candidate: 0 }))) });

describe('fuzz: gRPC request validators', () => {
  it('SubmitJob: every generated request is a job spec or INVALID_ARGUMENT naming the field', () => {
    fuzz('SubmitJob (trace backend)', fc.oneof(submit, nearlyValid(traceJob)), (req) => compileJobSpec(req, TRACE));
    fuzz('SubmitJob (model backend)', fc.oneof(submit, nearlyValid(modelJob)), (req) => compileJobSpec(req, MODEL));
  });

  it('RegisterWorker: worker id, address and advertised backend info', () => {
    fuzz('RegisterWorker', fc.record({ worker: fc.oneof(fc.constantFrom('w1', '10.0.0.1:7000', 'w[1]'), str), address: fc.oneof(fc.constantFrom('127.0.0.1:7000', '[::1]:1', 'w-0.workers:7000', 'h:0', 'h:70000'), str), info: fc.option(info) }), (req) => {
      checkWorkerId(req.worker);
      parseHostPort(req.address, 'address');
      checkBackendInfo(req.info);
    });
  });

  it('the Worker service: Take, Advance, Release, ExportLatent, ImportLatent, Render', () => {
    const job = fc.oneof(fc.constantFrom('j-1', 'job_2'), token);
    // grouped candidates: one prompt's packed indices, and for Take its text, settings and seeds
    const ids = fc.array(u32, { maxLength: 6 });
    const groups = fc.array(fc.record({ prompt: u32, candidates: ids }), { maxLength: 3 });
    const prompts = fc.array(fc.record({ prompt: u32, text: str, sampling: fc.option(sampling), candidates: ids, seeds: ids }), { maxLength: 3 });
    fuzz('Worker.Take', fc.record({ job, candidates: fc.array(fc.record({ prompt: u32, candidate: u32, seed: u32, text: str, sampling: fc.option(sampling) }), { maxLength: 4 }), prompts }), (r) => (checkJobId(r.job), checkTakeCandidates(r.candidates, r.prompts)));
    fuzz('Worker.Advance', fc.record({ job, to_step: u32, candidates: refs, groups, rewards: fc.array(fc.record({ name: token, noise_aware: fc.boolean() }), { maxLength: 18 }) }), (r) => {
      checkJobId(r.job);
      checkStep(r.to_step);
      checkRefs(r.candidates, r.groups);
      checkRewardRefs(r.rewards);
    });
    fuzz('Worker.Release/ExportLatent/Render', fc.record({ job, candidates: refs, groups, candidate: fc.option(ref) }), (r) => (checkJobId(r.job), checkRefs(r.candidates, r.groups), checkRef(r.candidate)));
    fuzz('Worker.ImportLatent', fc.record({ job, candidate: fc.option(ref), state: fc.uint8Array({ maxLength: 32 }) }), (r) => (checkJobId(r.job), checkRef(r.candidate), checkLatentState(r.state)));
  });
});
