import { randomUUID } from 'node:crypto';
import { placeBatch, type TweedieChunk } from '../../core/contract/collect.js';
import type { TakeSpec } from '../../core/contract/candidates.js';
import { WorkerLostError } from '../../core/contract/errors.js';
import type { Logger } from '../../core/log/logger.js';
import { CoordinatorUnavailableError } from '../errors.js';
import type { WorkerPool, WorkerSlot } from '../workers.js';
import { promptCandidates, type CollectJob } from './request.js';

/** Batches in flight per worker: one running, one waiting, so the worker never idles on a round trip. */
const PER_WORKER = 2;
/** A batch that failed on this many workers (lost, or refusing as draining) fails the collection. */
const MAX_TRIES = 3;
/** How long a collection waits with no worker at all before it fails. */
const NO_WORKER_MS = 30_000;

interface Batch {
  readonly position: number;
  readonly b0: number;
  readonly specs: readonly TakeSpec[];
  tries: number;
}

/**
 * Runs a collection over the coordinator's workers: each prompt's candidates cut into batches of the workers' max
 * batch, each batch denoised to the end and scored at every step by one worker (CollectScores), a batch whose
 * worker is lost sent again elsewhere. `out.done` gets each prompt's values once all its batches are back; with
 * saved Tweedie steps, `out.tweedie` gets the images' pieces as the workers send them (candidate: index in the
 * prompt; a batch sent again sends its pieces again), all of a prompt's before its values; a promise it returns
 * holds that worker's stream until it settles.
 * Beside search jobs, not through the job scheduler: the worker's runtime lets the two take turns on the backend.
 */
export async function runCollection(
  pool: WorkerPool,
  job: CollectJob,
  out: { readonly done: (position: number, values: Float32Array) => void; readonly tweedie: (position: number, chunk: TweedieChunk) => Promise<void> | void },
  o: { readonly signal: AbortSignal; readonly log: Logger },
): Promise<void> {
  const id = `collect-${randomUUID()}`;
  const { candidates: I, steps: S } = job;
  const R = job.plan.rewards.length;
  // workers of one pool may differ in max batch: cut for the smallest
  const maxBatch = Math.max(1, Math.min(...pool.all().map((s) => s.info.maxBatch)));
  const queue: Batch[] = [];
  const values = new Map<number, { data: Float32Array; left: number }>();
  job.prompts.forEach((p, position) => {
    const specs = promptCandidates(job.pool, I, job.seed, p.id, p.text);
    const left = Math.ceil(I / maxBatch);
    values.set(position, { data: new Float32Array(R * 2 * I * S), left });
    for (let b0 = 0; b0 < I; b0 += maxBatch) queue.push({ position, b0, specs: specs.slice(b0, b0 + maxBatch), tries: 0 });
  });
  const busy = new Map<string, number>();
  let failed: Error | null = null;
  let running = 0;
  let wake: () => void = () => {};
  let lastWorkerAt = Date.now();

  const send = (slot: WorkerSlot, batch: Batch): void => {
    running++;
    busy.set(slot.id, (busy.get(slot.id) ?? 0) + 1);
    slot.client
      .collect(id, batch.specs, job.plan, job.fingerprint, (c) => out.tweedie(batch.position, { ...c, candidate: batch.b0 + c.candidate }))
      .then((data) => {
        const p = values.get(batch.position) as { data: Float32Array; left: number };
        placeBatch(p.data, data, batch.b0, I, S, R);
        if (--p.left === 0) {
          values.delete(batch.position);
          out.done(batch.position, p.data);
        }
      })
      .catch((err: unknown) => {
        if (err instanceof WorkerLostError && ++batch.tries < MAX_TRIES) {
          o.log.warn({ worker: slot.id, collect: id, error: err.message }, 'collect: batch sent again elsewhere');
          queue.unshift(batch);
        } else failed ??= err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => {
        running--;
        busy.set(slot.id, (busy.get(slot.id) ?? 1) - 1);
        wake();
      });
  };

  while ((queue.length > 0 || running > 0) && !failed) {
    if (o.signal.aborted) throw o.signal.reason;
    const now = Date.now();
    const open = pool.all().filter((s) => !s.draining && !s.fenced && s.quarantinedUntil <= now);
    if (open.length > 0) lastWorkerAt = now;
    else if (running === 0 && now - lastWorkerAt > NO_WORKER_MS) throw new CoordinatorUnavailableError(`no worker to collect on for ${NO_WORKER_MS / 1000} s`);
    for (const slot of open.sort((a, b) => (busy.get(a.id) ?? 0) - (busy.get(b.id) ?? 0))) {
      while (queue.length > 0 && (busy.get(slot.id) ?? 0) < PER_WORKER) send(slot, queue.shift() as Batch);
    }
    // a batch coming back, or a new worker to use (checked twice a second)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 500);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  if (failed) throw failed;
}
