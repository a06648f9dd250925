import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as ort from 'onnxruntime-node';
import { parseInteger } from '../cli/options.js';
import { MemoryScoreBus } from '../core/bus/memory.js';
import { LAYOUTS } from '../worker/onnx/layout.js';
import { loadManifest } from '../worker/onnx/manifest.js';
import { createOnnxBackend } from '../worker/backends/onnx.js';
import type { WorkerBackend } from '../worker/backend.js';
import { InferenceHost } from '../worker/onnx/host.js';
import { DEFAULT_RUNTIME } from '../worker/onnx/runtime-options.js';
import { WorkerRuntime } from '../worker/runtime.js';

/**
 * Worker benchmark: denoise throughput in candidate-steps per second of one worker through the whole stack
 * (WorkerRuntime queue and batching -> onnx backend -> inference thread -> UNet with classifier-free guidance,
 * scheduler step, latents kept per candidate) against a bare onnxruntime-node loop that only calls
 * session.run on the same UNet with the same input shapes (2B rows with guidance) and session options.
 * Rounds alternate stack / bare so that both see the same machine load. Prints one JSON line
 * { stack_steps_per_s, bare_steps_per_s, ratio, ... } with --json (the bare loop feeds the SD layout's three
 * UNet inputs, so other layouts report the stack alone), then the mixed-step, score-thread and start-up figures
 * below, each a JSON line with mean and sd over the rounds.
 */
const program = new Command('bench:worker')
  .option('--model <dir>', 'model bundle', join(import.meta.dirname, '..', '..', 'models', 'tiny'))
  .option('--batch <n>', 'candidates per batch (the worker max batch)', '8')
  .option('--rounds <n>', 'timed rounds of each kind (each denoises the batch through every step)', '5')
  .option('--threads <n>', 'intra-op threads per session (0 = onnxruntime default)', '1')
  .option('--provider <p>', 'execution provider: cpu | cuda | auto', 'cpu')
  .option('--startup <n>', 'start-up runs of each kind (no cache, cold cache, warm cache); 0 skips', '3')
  .option('--json', 'print only the JSON lines')
  .parse(process.argv);
const o = program.opts<Record<string, string | boolean | undefined>>();
const startupRuns = parseInteger('--startup', 0, 100)(String(o.startup));
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
const ratios = (xs: number[]): { mean: number; min: number; max: number } => ({ mean: Number(mean(xs).toFixed(3)), min: Number(Math.min(...xs).toFixed(3)), max: Number(Math.max(...xs).toFixed(3)) });
const show = (x: { mean: number; sd: number }): string => `${x.mean} +- ${x.sd}`;
const perRound = rates.mixed.map((v, i) => v / (rates.same[i] as number));
const mixedOut = {
  timestep: tsMeta && tsMeta.isTensor && tsMeta.shape.length === 1 && tsMeta.shape[0] !== 1 ? '[B]: one call per mixed batch' : 'scalar/[1]: mixed batches grouped by step',
  same_step_steps_per_s: fig(rates.same),
  mixed_step_steps_per_s: fig(rates.mixed),
  split_by_step_steps_per_s: fig(rates.split),
  mixed_over_same: ratios(perRound),
  batch,
  rounds,
};
if (!o.json) {
  process.stdout.write(`mixed-step batches (${mixedOut.timestep}): same-step ${show(mixedOut.same_step_steps_per_s)}, mixed ${show(mixedOut.mixed_step_steps_per_s)}, split by step ${show(mixedOut.split_by_step_steps_per_s)} candidate-steps/s; mixed/same ${mixedOut.mixed_over_same.mean} (${mixedOut.mixed_over_same.min} to ${mixedOut.mixed_over_same.max})\n`);
}
process.stdout.write(`${JSON.stringify(mixedOut)}\n`);
await Promise.all(Object.values(backends).map((b) => b.close()));

/**
 * Decode and rewards beside denoising (--score-thread): a stream of candidate groups through WorkerRuntime, as a
 * worker serving many prompts sees it. Each group of `batch` candidates is scored at the prune points (the
 * steps where the default reward has noise-aware variants, else the middle step, with the base reward) and at
 * the last step; a new group starts whenever one finishes, two groups in flight, so one group's scoring can
 * overlap the other's denoising. `one`: decode and rewards in the pipeline thread (every call serialised);
 * `two`: in a score thread, the runtime keeping one score call beside the advances. Rounds alternate.
 */
const main = m.default_rewards[0] as string;
const variants = Object.keys(m.rewards[main]?.noise_aware ?? {}).map(Number).filter((v) => v < steps - 1).sort((a, b) => a - b);
const prunes = variants.length > 0 ? variants : [Math.floor(steps / 2)];
const overlapBackends = { one: await createOnnxBackend({ ...mixedOpts, scoreThread: 'off' }), two: await createOnnxBackend({ ...mixedOpts, scoreThread: 'on' }) };
const groupsPerRound = 6;
async function streamRound(b: WorkerBackend): Promise<number> {
  const bus = new MemoryScoreBus();
  const runtime = new WorkerRuntime({ id: 'stream', backend: b, bus });
  const targets = [...prunes, steps - 1];
  const done = new Map<string, number>(); // job -> scores seen at its current target
  let started = 0;
  let finished = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  const refs = Array.from({ length: batch }, (_, i) => ({ prompt: 0, candidate: i }));
  const stage = new Map<string, number>();
  const next = (job: string): void => {
    const k = stage.get(job) as number;
    const to = targets[k] as number;
    runtime.advance(job, to, refs, [{ name: main, noiseAware: to < steps - 1 && variants.includes(to) }]);
  };
  const launch = async (): Promise<void> => {
    const job = `s${seq++}`;
    started++;
    stage.set(job, 0);
    done.set(job, 0);
    await runtime.take(job, refs.map((r) => ({ ...r, seed: 9000 + seq * batch + r.candidate, text: 'a red circle above a blue square' })));
    next(job);
  };
  bus.subscribe((sc) => {
    const n = (done.get(sc.job) ?? 0) + 1;
    done.set(sc.job, n);
    if (n < batch) return;
    done.set(sc.job, 0);
    const k = (stage.get(sc.job) as number) + 1;
    if (k < targets.length) {
      stage.set(sc.job, k);
      next(sc.job);
      return;
    }
    runtime.release(sc.job);
    if (++finished === groupsPerRound) resolveAll();
    else if (started < groupsPerRound) void launch();
  });
  const t0 = performance.now();
  await Promise.all([launch(), launch()]);
  await all;
  const s = (performance.now() - t0) / 1000;
  await bus.close();
  return (groupsPerRound * batch * steps) / s;
}
const stream: Record<'one' | 'two', number[]> = { one: [], two: [] };
await streamRound(overlapBackends.one);
await streamRound(overlapBackends.two);
for (let r = 0; r < rounds; r++) {
  stream.one.push(await streamRound(overlapBackends.one));
  stream.two.push(await streamRound(overlapBackends.two));
}
const overlapRatio = stream.two.map((v, i) => v / (stream.one[i] as number));
const overlapOut = {
  score_thread: `prune points ${prunes.join(',')} and ${steps - 1}, ${groupsPerRound} groups of ${batch} per round, two in flight`,
  one_thread_steps_per_s: fig(stream.one),
  score_thread_steps_per_s: fig(stream.two),
  score_thread_over_one: ratios(overlapRatio),
  threads,
  provider,
};
if (!o.json) {
  process.stdout.write(`score thread (${overlapOut.score_thread}): one thread ${show(overlapOut.one_thread_steps_per_s)}, score thread ${show(overlapOut.score_thread_steps_per_s)} candidate-steps/s; ratio ${overlapOut.score_thread_over_one.mean} (${overlapOut.score_thread_over_one.min} to ${overlapOut.score_thread_over_one.max})\n`);
}
process.stdout.write(`${JSON.stringify(overlapOut)}\n`);
await Promise.all(Object.values(overlapBackends).map((b) => b.close()));

/**
 * Start-up: seconds from starting the inference thread to a loaded bundle, without the optimised-model cache,
 * with an empty cache (optimise and write), and with a filled one (load the optimised graphs). Runs alternate.
 */
if (startupRuns > 0) {
  const root = mkdtempSync(join(tmpdir(), 'ttsnap-bench-cache-'));
  const startOnce = async (cacheDir: string | null): Promise<number> => {
    const t0 = performance.now();
    const host = await InferenceHost.start({ bundle: model, provider: provider as 'cpu', threads, maxBatch: batch, runtime: { ...DEFAULT_RUNTIME, cacheDir } }, () => undefined);
    const s = (performance.now() - t0) / 1000;
    await host.close();
    return s;
  };
  const times: Record<'none' | 'cold' | 'warm', number[]> = { none: [], cold: [], warm: [] };
  const warmDir = join(root, 'warm');
  await startOnce(warmDir);
  for (let r = 0; r < startupRuns; r++) {
    times.none.push(await startOnce(null));
    const cold = join(root, `cold${r}`);
    times.cold.push(await startOnce(cold));
    rmSync(cold, { recursive: true, force: true });
    times.warm.push(await startOnce(warmDir));
  }
  rmSync(root, { recursive: true, force: true });
  const f3 = (xs: number[]): { mean: number; sd: number } => ({ mean: Number(mean(xs).toFixed(3)), sd: Number(sd(xs).toFixed(3)) });
  const startOut = { startup_s: { no_cache: f3(times.none), cold_cache: f3(times.cold), warm_cache: f3(times.warm) }, runs: startupRuns, model: m.name };
  if (!o.json) process.stdout.write(`start-up seconds: no cache ${show(startOut.startup_s.no_cache)}, empty cache ${show(startOut.startup_s.cold_cache)}, filled cache ${show(startOut.startup_s.warm_cache)}\n`);
  process.stdout.write(`${JSON.stringify(startOut)}\n`);
}
