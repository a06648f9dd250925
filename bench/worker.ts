import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { parseInteger } from '../cli/options.js';
import { MemoryScoreBus } from '../core/bus/memory.js';
import { LAYOUTS } from '../worker/onnx/layout.js';
import { loadManifest } from '../worker/onnx/manifest.js';
import { createOnnxBackend } from '../worker/backends/onnx.js';
import { WorkerRuntime } from '../worker/runtime.js';

/**
 * Worker benchmark: denoise throughput in candidate-steps per second of one worker through the whole stack
 * (WorkerRuntime queue and batching -> onnx backend -> inference thread -> UNet with classifier-free guidance,
 * scheduler step, latents kept per candidate) against a bare onnxruntime-node loop that only calls
 * session.run on the same UNet with the same input shapes (2B rows with guidance) and session options.
 * Rounds alternate stack / bare so that both see the same machine load. Prints one JSON line
 * { stack_steps_per_s, bare_steps_per_s, ratio, ... } with --json (the bare loop feeds the SD layout's three
 * UNet inputs, so other layouts report the stack alone), then the mixed-step figures below.
 */
const program = new Command('bench:worker')
  .option('--model <dir>', 'model bundle', join(import.meta.dirname, '..', '..', 'models', 'tiny'))
  .option('--batch <n>', 'candidates per batch (the worker max batch)', '8')
  .option('--rounds <n>', 'timed rounds of each kind (each denoises the batch through every step)', '5')
  .option('--threads <n>', 'intra-op threads per session (0 = onnxruntime default)', '1')
  .option('--provider <p>', 'execution provider: cpu | cuda | auto', 'cpu')
  .option('--json', 'print only the JSON line')
  .parse(process.argv);
const o = program.opts<Record<string, string | boolean | undefined>>();
const batch = parseInteger('--batch', 1, 4096)(String(o.batch));
const rounds = parseInteger('--rounds', 1, 1000)(String(o.rounds));
const threads = parseInteger('--threads', 0, 256)(String(o.threads));
const model = String(o.model);
const provider = String(o.provider);
const m = loadManifest(model);
const steps = m.sampling.steps;
const rows = m.sampling.guidance_scale > 1 ? 2 * batch : batch;

// the stack
const bus = new MemoryScoreBus();
const backend = await createOnnxBackend({ model, provider, threads: String(threads), maxBatch: String(batch) });
const runtime = new WorkerRuntime({ id: 'bench', backend, bus });
let jobSeq = 0;
async function stackRound(): Promise<number> {
  const job = `b${jobSeq++}`;
  const refs = Array.from({ length: batch }, (_, i) => ({ prompt: 0, candidate: i }));
  await runtime.take(job, refs.map((r) => ({ ...r, seed: 1000 + r.candidate + jobSeq * batch, text: 'a red circle above a blue square' })));
  const t0 = performance.now();
  runtime.advance(job, steps - 1, refs, []);
  await runtime.idle();
  const s = (performance.now() - t0) / 1000;
  runtime.release(job);
  return s;
}

// the bare loop: the same UNet, shapes and session options, nothing but session.run
const session = await ort.InferenceSession.create(join(model, LAYOUTS[m.layout].folder, 'model.onnx'), {
  executionProviders: [provider === 'cpu' ? 'cpu' : 'cuda'],
  ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
});
const tsMeta = session.inputMetadata.find((x) => x.name === 'timestep');
const tsType = tsMeta && tsMeta.isTensor ? tsMeta.type : 'int64';
const sampleMeta = session.inputMetadata.find((x) => x.name === 'sample');
// the bare loop feeds float32 latents and a [B] timestep to the SD layout's UNet (the tiny bundle's); others report the stack only
const bare = m.layout === 'sd' && tsMeta?.isTensor === true && tsMeta.shape.length === 1 && sampleMeta?.isTensor === true && sampleMeta.type === 'float32';
const L = m.text.max_length;
const hidden = session.inputMetadata.find((x) => x.name === 'encoder_hidden_states');
const D = hidden && hidden.isTensor ? Number(hidden.shape[2]) : 0;
const latent = m.latent.channels * m.latent.height * m.latent.width;
const sample = new ort.Tensor('float32', new Float32Array(rows * latent).map((_, i) => Math.sin(i)), [rows, m.latent.channels, m.latent.height, m.latent.width]);
const text = new ort.Tensor('float32', new Float32Array(rows * L * D).map((_, i) => Math.cos(i)), [rows, L, D]);
const timesteps = Array.from({ length: steps }, (_, i) =>
  tsType === 'int64' ? new ort.Tensor('int64', new BigInt64Array(rows).fill(BigInt(951 - 50 * i)), [rows]) : new ort.Tensor('float32', new Float32Array(rows).fill(951 - 50 * i), [rows]),
);
async function bareRound(): Promise<number> {
  if (!bare) return NaN;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await session.run({ sample, timestep: timesteps[i] as ort.Tensor, encoder_hidden_states: text });
  return (performance.now() - t0) / 1000;
}

await stackRound();
await bareRound();
let stackS = 0;
let bareS = 0;
for (let r = 0; r < rounds; r++) {
  stackS += await stackRound();
  bareS += await bareRound();
}
const work = rounds * batch * steps;
const out = {
  stack_steps_per_s: Number((work / stackS).toFixed(2)),
  bare_steps_per_s: Number((work / bareS).toFixed(2)),
  ratio: Number((bareS / stackS).toFixed(4)),
  batch,
  unet_rows: rows,
  steps,
  rounds,
  threads,
  model: m.name,
};
if (!o.json) process.stdout.write(`stack ${out.stack_steps_per_s} candidate-steps/s, bare onnxruntime ${out.bare_steps_per_s}, ratio ${out.ratio}\n`);
process.stdout.write(`${JSON.stringify(out)}\n`);
await runtime.close();
await bus.close();
await session.release();

/**
 * Mixed-step batches: a steady state of `batch` live candidates advanced one step per call, each replaced by
 * a fresh one when it reaches the last step. `same`: all candidates stand at the same step (replaced
 * together); `mixed`: they are staggered over the steps, so every call mixes steps (one call where the UNet
 * takes a [B] timestep); `split`: staggered, but the pipeline splits the call by step (mixedSteps false,
 * what the worker did before). Rounds rotate the three so that all see the same load.
 */
const mixedOpts = { model, provider, threads: String(threads), maxBatch: String(batch) };
const backends = {
  same: await createOnnxBackend(mixedOpts),
  mixed: await createOnnxBackend(mixedOpts),
  split: await createOnnxBackend({ ...mixedOpts, mixedSteps: 'false' }),
};
const calls = steps * 4;
let seq = 0;
async function steadyRound(b: Awaited<ReturnType<typeof createOnnxBackend>>, staggered: boolean): Promise<number> {
  const live = new Map<string, number>();
  const fresh = async (n: number): Promise<string[]> => {
    const specs = Array.from({ length: n }, () => ({ key: `m${seq}`, prompt: 0, text: 'a red circle above a blue square', candidate: seq, seed: 5000 + seq++ }));
    await b.create(specs);
    for (const s of specs) live.set(s.key, -1);
    return specs.map((s) => s.key);
  };
  const keys = await fresh(batch);
  // untimed: stagger candidate i to step floor(i * S / batch) - 1
  if (staggered) for (let target = 0; target < steps; target++) {
    const items = keys.filter((k, i) => Math.floor((i * steps) / batch) - 1 >= target).map((key) => ({ key, toStep: target }));
    if (items.length) await b.advance(items);
    for (const it of items) live.set(it.key, it.toStep);
  }
  const t0 = performance.now();
  for (let c = 0; c < calls; c++) {
    const items = [...live].map(([key, s]) => ({ key, toStep: s + 1 }));
    await b.advance(items);
    const done = items.filter((it) => it.toStep === steps - 1).map((it) => it.key);
    for (const it of items) live.set(it.key, it.toStep);
    if (done.length) {
      b.release(done);
      for (const k of done) live.delete(k);
      await fresh(done.length);
    }
  }
  const s = (performance.now() - t0) / 1000;
  b.release([...live.keys()]);
  return (calls * batch) / s;
}
const rates: Record<'same' | 'mixed' | 'split', number[]> = { same: [], mixed: [], split: [] };
await steadyRound(backends.same, false);
await steadyRound(backends.mixed, true);
await steadyRound(backends.split, true);
for (let r = 0; r < rounds; r++) {
  rates.same.push(await steadyRound(backends.same, false));
  rates.mixed.push(await steadyRound(backends.mixed, true));
  rates.split.push(await steadyRound(backends.split, true));
}
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]): number => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
const fig = (xs: number[]): { mean: number; sd: number } => ({ mean: Number(mean(xs).toFixed(1)), sd: Number(sd(xs).toFixed(1)) });
const perRound = rates.mixed.map((v, i) => v / (rates.same[i] as number));
const mixedOut = {
  timestep: tsMeta && tsMeta.isTensor && tsMeta.shape.length === 1 && tsMeta.shape[0] !== 1 ? '[B]: one call per mixed batch' : 'scalar/[1]: mixed batches grouped by step',
  same_step_steps_per_s: fig(rates.same),
  mixed_step_steps_per_s: fig(rates.mixed),
  split_by_step_steps_per_s: fig(rates.split),
  mixed_over_same: { mean: Number(mean(perRound).toFixed(3)), min: Number(Math.min(...perRound).toFixed(3)), max: Number(Math.max(...perRound).toFixed(3)) },
  batch,
  rounds,
};
if (!o.json) {
  const f = (x: { mean: number; sd: number }): string => `${x.mean} +- ${x.sd}`;
  process.stdout.write(`mixed-step batches (${mixedOut.timestep}): same-step ${f(mixedOut.same_step_steps_per_s)}, mixed ${f(mixedOut.mixed_step_steps_per_s)}, split by step ${f(mixedOut.split_by_step_steps_per_s)} candidate-steps/s; mixed/same ${mixedOut.mixed_over_same.mean} (${mixedOut.mixed_over_same.min} to ${mixedOut.mixed_over_same.max})\n`);
}
process.stdout.write(`${JSON.stringify(mixedOut)}\n`);
await Promise.all(Object.values(backends).map((b) => b.close()));
