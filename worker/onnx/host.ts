import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { packageRoot } from '../../core/package-root.js';
import type { PipelineOptions } from './pipeline.js';
import { deserializeError, type PipelineInfo, type ThreadMessage, type ThreadOp } from './protocol.js';

/**
 * The main-thread side of the inference thread: starts dist/worker/onnx/thread.js, waits until the bundle is
 * loaded, and turns requests into promises. The thread script is found from the package root, so the same code
 * works from the compiled CLI and from vitest running the TypeScript sources (build with tsc first).
 */
export class InferenceHost {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly info: PipelineInfo,
  ) {}

  /** Loads the bundle in a new inference thread; rejects with the loader's error (BadFileError etc.). */
  static async start(opts: PipelineOptions, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<InferenceHost> {
    // cuBLAS and cuDNN read it from the process environment when they start; a worker thread's process.env is its own copy
    if (opts.runtime?.tf32 === false && opts.provider !== 'cpu') process.env.NVIDIA_TF32_OVERRIDE = '0';
    const worker = new Worker(threadScript(), { workerData: opts });
    let host: InferenceHost | null = null;
    const info = await new Promise<PipelineInfo>((resolve, reject) => {
      worker.on('message', (m: ThreadMessage) => {
        if (m.type === 'log') log(m.line);
        else if (m.type === 'ready') resolve(m.info);
        else if (!host) reject(m.type === 'error' ? deserializeError(m.error) : new Error('inference thread answered before it was ready'));
        else host.settle(m);
      });
      worker.once('error', (err) => (host ? host.failAll(err) : reject(err)));
      worker.once('exit', (code) => (host ? host.failAll(new Error(`inference thread exited with code ${code}`)) : reject(new Error(`inference thread exited with code ${code} while loading`))));
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    host = new InferenceHost(worker, info);
    return host;
  }

  /** Sends one request; `transfer` moves buffers instead of copying them. */
  call<T>(op: ThreadOp, args: readonly unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.closed) return Promise.reject(new Error('the inference thread is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  /** Releases the sessions and ends the thread; idempotent. */
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

/** dist/worker/onnx/thread.js under the package root. */
export function threadScript(): string {
  const script = join(packageRoot(), 'dist', 'worker', 'onnx', 'thread.js');
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (npx tsc -p tsconfig.json)`);
  return script;
}
