import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../core/package-root.js';
import type { PipelineOptions } from './pipeline.js';
import { deserializeError, type PipelineInfo, type ThreadMessage, type ThreadOp } from './protocol.js';
import type { ThreadData } from './thread.js';
import { sizeLimits } from './candidate-sampling.js';

/** One inference thread seen from the main thread: requests in, promises out. */
class ThreadChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(private readonly worker: Worker) {}

  /** Starts dist/worker/onnx/thread.js with `data`; resolves with the channel and the thread's ready info. */
  static async start(data: ThreadData, log: (line: string) => void): Promise<{ channel: ThreadChannel; info: PipelineInfo | null; decoderTakesSizes: boolean }> {
    const worker = new Worker(threadScript(), { workerData: data });
    let channel: ThreadChannel | null = null;
    const ready = await new Promise<Extract<ThreadMessage, { type: 'ready' }>>((resolve, reject) => {
      worker.on('message', (m: ThreadMessage) => {
        if (m.type === 'log') log(m.line);
        else if (m.type === 'ready') resolve(m);
        else if (!channel) reject(m.type === 'error' ? deserializeError(m.error) : new Error('inference thread answered before it was ready'));
        else channel.settle(m);
      });
      worker.once('error', (err) => (channel ? channel.failAll(err) : reject(err)));
      worker.once('exit', (code) => (channel ? channel.failAll(new Error(`inference thread exited with code ${code}`)) : reject(new Error(`inference thread exited with code ${code} while loading`))));
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    channel = new ThreadChannel(worker);
    return { channel, info: ready.info, decoderTakesSizes: ready.decoderTakesSizes !== false };
  }

  call<T>(op: ThreadOp, args: readonly unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the inference thread is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call('close', []).catch(() => undefined);
    this.closed = true;
    await this.worker.terminate();
  }

  private settle(m: ThreadMessage): void {
    if (m.type !== 'result' && m.type !== 'error') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === 'result') p.resolve(m.value);
    else p.reject(deserializeError(m.error));
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/**
 * The main-thread side of the inference threads: the pipeline thread (latents, text encoders, denoiser) and,
 * with opts.scoreThread, a score thread (VAE decoder, rewards) whose calls run while the pipeline thread
 * denoises. Waits until the bundle is loaded and turns requests into promises. The thread script is found from
 * the package root, so the same code works from the compiled CLI and from vitest running the TypeScript
 * sources (build with tsc first).
 */
export class InferenceHost {
  private constructor(
    private readonly pipeline: ThreadChannel,
    private readonly scorer: ThreadChannel | null,
    readonly info: PipelineInfo,
  ) {}

  /** Loads the bundle in new inference threads; rejects with the loader's error (BadFileError etc.). */
  static async start(opts: PipelineOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<InferenceHost> {
    // cuBLAS and cuDNN read it from the process environment when they start; a worker thread's process.env is its own copy
    if (opts.runtime?.tf32 === false && opts.provider !== 'cpu') process.env.NVIDIA_TF32_OVERRIDE = '0';
    const started = await Promise.allSettled([ThreadChannel.start({ ...opts, role: 'pipeline' }, log), ...(opts.scoreThread ? [ThreadChannel.start({ ...opts, role: 'scorer' }, log)] : [])]);
    const failure = started.find((s) => s.status === 'rejected');
    if (failure) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.channel.close() : undefined)));
      throw failure.reason;
    }
    const [p, s] = started.map((x) => (x as PromiseFulfilledResult<Awaited<ReturnType<typeof ThreadChannel.start>>>).value);
    const { channel, info } = p as Awaited<ReturnType<typeof ThreadChannel.start>>;
    if (!info) throw new Error('the pipeline thread gave no bundle info');
    // the pipeline thread reports the denoiser's sizes; a score thread's decoder with fixed dims takes only the bundle's
    const sampling = s && !s.decoderTakesSizes ? { ...info.sampling, ...sizeLimits(null) } : info.sampling;
    return new InferenceHost(channel, s?.channel ?? null, { ...info, sampling });
  }

  /** True when decode and rewards run in their own thread (callScorer), beside denoising. */
  get hasScoreThread(): boolean {
    return this.scorer !== null;
  }

  /** Sends one request to the pipeline thread; `transfer` moves buffers instead of copying them. */
  call<T>(op: ThreadOp, args: readonly unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    return this.pipeline.call<T>(op, args, transfer);
  }

  /** Sends one request to the score thread. */
  callScorer<T>(op: ThreadOp, args: readonly unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (!this.scorer) return Promise.reject(new Error('this inference host has no score thread'));
    return this.scorer.call<T>(op, args, transfer);
  }

  /** Releases the sessions and ends the threads; idempotent. */
  async close(): Promise<void> {
    await Promise.all([this.pipeline.close(), this.scorer?.close()]);
  }
}

/** dist/worker/onnx/thread.js under the package root. */
export function threadScript(): string {
  const script = join(packageRoot(), 'dist', 'worker', 'onnx', 'thread.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (npx tsc -p tsconfig.json)`);
  return script;
}
