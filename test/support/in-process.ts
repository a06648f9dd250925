import { afterAll, afterEach } from 'vitest';
import { MemoryScoreBus } from '../../core/bus/memory.js';
import type { Coordinator } from '../../coordinator/coordinator.js';
import type { WorkerRuntime } from '../../worker/runtime.js';

/** What tests of a coordinator over in-process workers share; the coordinator and runtimes close after each test. */
export interface InProcessFixture {
  readonly bus: MemoryScoreBus;
  /** the test's worker runtimes (closed after it, after the coordinator) */
  readonly runtimes: WorkerRuntime[];
  /** makes `c` the test's coordinator (closed after it) and returns it */
  coordinator(c: Coordinator): Coordinator;
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
  return { bus, runtimes, coordinator: (c) => (current = c) };
}
