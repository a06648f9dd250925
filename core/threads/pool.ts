import { parentPort, Worker } from 'node:worker_threads';

/** A task sent to a worker thread, tagged with its place in the caller's job list. */
export interface WorkerTask<T> {
  readonly index: number;
  readonly task: T;
}

/** What a worker thread answers: progress while a task runs, then its result or its error. */
export type WorkerReply<P, R> =
  | { readonly kind: 'progress'; readonly index: number; readonly progress: P }
  | { readonly kind: 'done'; readonly index: number; readonly result: R }
  | { readonly kind: 'error'; readonly index: number; readonly message: string };

/**
 * Worker threads running one script. Starting them takes tens of milliseconds each (a fresh V8 isolate and
 * the engine's modules), so a caller can start a pool before it loads its data.
 */
export class WorkerPool {
  readonly workers: readonly Worker[];

  constructor(script: URL, size: number) {
    this.workers = Array.from({ length: size }, () => new Worker(script));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Sends a worker all its tasks at once (it runs them in order) and passes on its progress and each task's
 * result as it comes; settles when every task is done, or rejects on the first error (named by `what`).
 * Functions do not cross threads: tasks must be plain data (typed arrays are copied, or shared when their
 * buffer is a SharedArrayBuffer).
 */
export function runOnWorker<T, P, R>(
  worker: Worker,
  tasks: readonly WorkerTask<T>[],
  onProgress: (index: number, progress: P) => void,
  onResult: (index: number, result: R) => void,
  what: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let left = tasks.length;
    const finish = (err?: Error): void => {
      worker.off('message', onMessage);
      worker.off('error', finish);
      if (err) reject(err);
      else resolve();
    };
    const onMessage = (reply: WorkerReply<P, R>): void => {
      if (reply.kind === 'progress') onProgress(reply.index, reply.progress);
      else if (reply.kind === 'error') finish(new Error(`${what}: ${reply.message}`));
      else {
        onResult(reply.index, reply.result);
        if (--left === 0) finish();
      }
    };
    if (left === 0) return resolve();
    worker.on('message', onMessage);
    worker.on('error', finish);
    for (const t of tasks) worker.postMessage(t);
  });
}

/** The worker side: answers every task with handler's result, or with its error, progress in between. */
export function serveTasks<T, P, R>(handler: (task: T, progress: (p: P) => void) => R): void {
  const port = parentPort;
  if (!port) return;
  port.on('message', ({ index, task }: WorkerTask<T>) => {
    const reply = (r: WorkerReply<P, R>): void => port.postMessage(r);
    try {
      reply({ kind: 'done', index, result: handler(task, (progress) => reply({ kind: 'progress', index, progress })) });
    } catch (err) {
      reply({ kind: 'error', index, message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
}
