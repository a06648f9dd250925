import { afterAll, afterEach } from 'vitest';
import { MemoryScoreBus } from '../../core/bus/memory.js';
import type { BackendInfo } from '../../core/contract/backend-info.js';
import type { TakePrompt } from '../../core/contract/candidates.js';
import { WorkerLostError } from '../../core/contract/errors.js';
import type { Coordinator } from '../../coordinator/coordinator.js';
import { createTraceBackend } from '../../worker/backends/trace.js';
import { InProcessWorkerClient } from '../../worker/in-process-client.js';
import { WorkerRuntime } from '../../worker/runtime.js';
import { BASE, NARF } from '../integration/runtime/engine-alone.js';

/**
 * An in-process client that records the jobs of the candidates it is given to take; `gone` makes it lost, and
 * `failing` fails that many takes as a broken backend would (a plain error: a fault of the worker, not a loss).
 */
export class RecordingClient extends InProcessWorkerClient {
  readonly took: string[] = [];
  gone = false;
  failing = 0;
  override take(job: string, prompts: readonly TakePrompt[]): Promise<void> {
    if (this.gone) return Promise.reject(new WorkerLostError(this.id, 'gone'));
    if (this.failing > 0) {
      this.failing--;
      return Promise.reject(new Error('injected fault'));
    }
    for (const p of prompts) this.took.push(...p.candidates.map(() => job));
    return super.take(job, prompts);
  }
}

/** What tests of a coordinator over in-process workers share; the coordinator and runtimes close after each test. */
export interface InProcessFixture {
  readonly bus: MemoryScoreBus;
  /** the test's worker runtimes (closed after it, after the coordinator) */
  readonly runtimes: WorkerRuntime[];
  /** makes `c` the test's coordinator (closed after it) and returns it */
  coordinator(c: Coordinator): Coordinator;
  /**
   * Registers with `c` a worker that replays the trace (1 ms steps, batches of 4), described to the coordinator
   * by `info` where given (only the coordinator reads it: a model worker of another version, say).
   */
  join(c: Coordinator, id: string, info?: BackendInfo, o?: { draining?: boolean }): Promise<RecordingClient>;
}

/** Call inside a describe: one memory bus for its tests (closed after them), and per-test cleanup. */
export function inProcessFixture(): InProcessFixture {
  const bus = new MemoryScoreBus();
  const runtimes: WorkerRuntime[] = [];
  let current: Coordinator | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
    for (const rt of runtimes.splice(0)) await rt.close();
  });
  afterAll(() => bus.close());
  const join = async (c: Coordinator, id: string, info?: BackendInfo, o: { draining?: boolean } = {}): Promise<RecordingClient> => {
    const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '1' });
    const rt = new WorkerRuntime({ id, backend, bus });
    runtimes.push(rt);
    const client = new RecordingClient(rt);
    const described = info ? { ...info, steps: backend.info.steps, rewards: backend.info.rewards } : backend.info;
    c.registerWorker(client, described, { remote: false, draining: o.draining });
    return client;
  };
  return { bus, runtimes, coordinator: (c) => (current = c), join };
}
