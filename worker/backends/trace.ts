import { setTimeout as sleep } from 'node:timers/promises';
import { PAPER_COST, parseCostSpec } from '../../core/engine/cost-model.js';
import { ValidationError } from '../../core/errors.js';
import { parseNumberIn } from '../../core/number-range.js';
import { loadRewardTrace, traceOffset, type RewardTrace } from '../../core/trace/reward-trace.js';
import type { AdvanceItem, BackendOptions, CandidateSpec, WorkerBackend } from '../backend.js';
import type { BackendInfo, RewardSpec } from '../../core/contract/backend-info.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import { NO_FAULTS, parseTraceFaults, TraceFaults, type TraceFaultSpec } from './trace-faults.js';

/** How the simulated accelerator spends time. */
export interface TraceSimOptions {
  /** wall time of one denoise step of a batch of up to maxBatch candidates, ms (default 0) */
  readonly stepMs: number;
  /** wall time of one reward call on a batch of up to maxBatch candidates, ms (default 0) */
  readonly rewardMs: number;
  /** default 8 */
  readonly maxBatch: number;
  /** bytes of simulated latent state added to each exported candidate (default 0) */
  readonly latentBytes: number;
  /** cost per step / reward call reported to the coordinator (default the paper's 9.9 / 1.2) */
  readonly cost: { readonly denoise: number; readonly verify: number };
  /** reward name (default from the file name: flux_pic_base.npy -> pic) */
  readonly reward: string;
  /** injected faults (default none; see trace-faults.ts) */
  readonly faults?: TraceFaultSpec;
}

interface TraceCandidate {
  readonly prompt: number;
  readonly candidate: number;
  readonly seed: number;
  step: number;
}

const HEADER = 16; // prompt, candidate, seed, step as 4 x int32 (little-endian)

/**
 * Replays a reward trace: candidate i of prompt p at step s scores value[p, i, s] (the narf trace when the
 * reward is noise-aware, the base trace otherwise). Time passes on timers, never in busy loops, so many
 * simulated workers share one process.
 */
export class TraceBackend implements WorkerBackend {
  readonly info: BackendInfo;
  private readonly live = new Map<CandidateKey, TraceCandidate>();
  /** ms of timer lateness not yet taken off (see spend) */
  private owed = 0;
  private readonly faults: TraceFaults;

  constructor(
    private readonly trace: RewardTrace,
    private readonly sim: TraceSimOptions,
  ) {
    this.info = {
      backend: 'trace',
      steps: trace.steps,
      maxBatch: sim.maxBatch,
      rewards: [sim.reward],
      cost: sim.cost,
      tracePrompts: trace.prompts,
      traceCandidates: trace.candidates,
      renders: false,
      model: trace.name,
    };
    this.faults = new TraceFaults(sim.faults ?? NO_FAULTS);
  }

  async create(specs: readonly CandidateSpec[]): Promise<void> {
    for (const s of specs) {
      if (s.prompt < 0 || s.prompt >= this.trace.prompts) throw new ValidationError('prompt', `got ${s.prompt}`, `[0, ${this.trace.prompts - 1}]`);
      if (s.candidate < 0 || s.candidate >= this.trace.candidates) throw new ValidationError('candidate', `got ${s.candidate}`, `[0, ${this.trace.candidates - 1}]`);
      this.live.set(s.key, { prompt: s.prompt, candidate: s.candidate, seed: s.seed, step: -1 });
    }
  }

  async advance(items: readonly AdvanceItem[], signal?: AbortSignal): Promise<void> {
    await this.faults.enter('advance');
    let steps = 0;
    const targets = items.map((it) => {
      const c = this.get(it.key);
      if (it.toStep <= c.step || it.toStep >= this.trace.steps) throw new RangeError(`cannot advance ${it.key} from step ${c.step} to ${it.toStep}`);
      steps = Math.max(steps, it.toStep - c.step);
      return c;
    });
    if (this.sim.stepMs > 0 && items.length > 0) await this.spend(steps * this.sim.stepMs, signal);
    signal?.throwIfAborted();
    items.forEach((it, j) => ((targets[j] as TraceCandidate).step = it.toStep));
  }

  async score(keys: readonly CandidateKey[], rewards: readonly RewardSpec[], signal?: AbortSignal): Promise<Float64Array[]> {
    await this.faults.enter('score');
    const out = rewards.map((r) => {
      if (r.name !== this.sim.reward) throw new ValidationError('rewards', `unknown reward '${r.name}'`, this.sim.reward);
      const source = r.noiseAware ? this.trace.narf : this.trace.base;
      const values = new Float64Array(keys.length);
      keys.forEach((k, j) => {
        const c = this.get(k);
        if (c.step < 0) throw new RangeError(`${k} has not been denoised yet`);
        values[j] = source[traceOffset(this.trace, c.prompt, c.candidate) + c.step] as number;
      });
      return values;
    });
    const batches = Math.ceil(keys.length / this.sim.maxBatch) * rewards.length;
    if (this.sim.rewardMs > 0 && batches > 0) await this.spend(batches * this.sim.rewardMs, signal);
    signal?.throwIfAborted();
    return out;
  }

  stepOf(key: CandidateKey): number | undefined {
    return this.live.get(key)?.step;
  }

  liveKeys(): readonly CandidateKey[] {
    return [...this.live.keys()];
  }

  async exportState(key: CandidateKey): Promise<Uint8Array> {
    const c = this.get(key);
    const bytes = new Uint8Array(HEADER + this.sim.latentBytes);
    const view = new DataView(bytes.buffer);
    [c.prompt, c.candidate, c.seed | 0, c.step].forEach((v, i) => view.setInt32(i * 4, v, true));
    return bytes;
  }

  async importState(key: CandidateKey, state: Uint8Array): Promise<number> {
    if (state.byteLength < HEADER) throw new ValidationError('state', `${state.byteLength} bytes`, `>= ${HEADER} bytes from a trace backend`);
    const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
    const [prompt, candidate, seed, step] = [0, 1, 2, 3].map((i) => view.getInt32(i * 4, true)) as [number, number, number, number];
    await this.create([{ key, prompt, candidate, seed: seed >>> 0, text: '' }]);
    (this.live.get(key) as TraceCandidate).step = step;
    return step;
  }

  release(keys: readonly CandidateKey[]): void {
    for (const k of keys) this.live.delete(k);
  }

  async close(): Promise<void> {
    this.faults.release();
    this.live.clear();
  }

  /**
   * Occupies the simulated accelerator for `ms`. Timers fire late on a loaded host (a 20 ms timer takes 20-25 ms
   * when many simulated workers share a busy process); that lateness is the simulator's, not the accelerator's,
   * so it is carried over and taken off the next call. Over a run the accelerator then spends the configured
   * time per step on average, and every other delay (the runtime's, the coordinator's) still shows.
   */
  private async spend(ms: number, signal?: AbortSignal): Promise<void> {
    const wait = Math.max(0, ms - this.owed);
    this.owed -= ms - wait;
    const t0 = performance.now();
    await sleep(wait, undefined, { signal });
    this.owed = Math.min(this.owed + Math.max(0, performance.now() - t0 - wait), 10 * ms);
  }

  private get(key: CandidateKey): TraceCandidate {
    const c = this.live.get(key);
    if (!c) throw new RangeError(`candidate ${key} is not held by this worker`);
    return c;
  }
}

/** Reward name from a trace file name: flux_pic_base.npy -> pic. */
export function rewardNameOf(trace: RewardTrace): string {
  const parts = trace.name.split('_');
  const last = parts[parts.length - 1] ?? '';
  return /^[A-Za-z][A-Za-z0-9-]*$/.test(last) ? last : 'reward';
}

function nonNegative(opts: BackendOptions, key: string, flag: string, fallback: number, max: number): number {
  const raw = opts[key];
  return raw === undefined ? fallback : parseNumberIn(flag, raw, { min: 0, max });
}

// Loaded traces by file pair: several simulated workers in one process share one copy of the data.
const loaded = new Map<string, RewardTrace>();

/**
 * Factory for the registry: --base F [--narf F] [--step-ms --reward-ms --max-batch --latent-bytes --cost --reward
 * --allow-nonfinite --fault SPEC].
 */
export async function createTraceBackend(opts: BackendOptions): Promise<WorkerBackend> {
  const base = opts.base;
  if (typeof base !== 'string' || base === '') throw new ValidationError('--base', 'missing', 'a reward trace .npy file (the trace backend, the default, needs one; --backend onnx runs a model bundle instead)');
  const narf = typeof opts.narf === 'string' ? opts.narf : undefined;
  const allowNonFinite = opts.allowNonfinite === true || opts.allowNonfinite === 'true';
  const id = `${base}\0${narf ?? ''}\0${allowNonFinite}`;
  const trace = loaded.get(id) ?? loadRewardTrace(base, narf, undefined, allowNonFinite);
  loaded.set(id, trace);
  const maxBatch = opts.maxBatch === undefined ? 8 : parseNumberIn('--max-batch', opts.maxBatch, { min: 1, max: 4096, integer: true });
  const cost = typeof opts.cost === 'string' ? parseCostSpec(opts.cost, '--cost', { steps: trace.steps }) : PAPER_COST;
  return new TraceBackend(trace, {
    stepMs: nonNegative(opts, 'stepMs', '--step-ms', 0, 60_000),
    rewardMs: nonNegative(opts, 'rewardMs', '--reward-ms', 0, 60_000),
    maxBatch,
    latentBytes: Math.floor(nonNegative(opts, 'latentBytes', '--latent-bytes', 0, 64 * 1024 * 1024)),
    cost: { denoise: cost.denoise, verify: cost.verify },
    reward: typeof opts.reward === 'string' ? opts.reward : rewardNameOf(trace),
    faults: typeof opts.fault === 'string' ? parseTraceFaults(opts.fault) : NO_FAULTS,
  });
}
