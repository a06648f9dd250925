import { afterEach, describe, expect, it } from 'vitest';
import { MemoryScoreBus } from '../../../core/bus/memory.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { InProcessWorkerClient } from '../../../worker/in-process-client.js';
import type { AdvanceItem } from '../../../worker/backend.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';

describe('a backend that fails', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('fails the job with the backend error (pushed by the worker on the bus) and never stalls the worker', async () => {
    const bus = new MemoryScoreBus();
    // a score timeout longer than the test: the failure must come pushed, not as the answer to a re-request
    const coordinator = new Coordinator(bus, undefined, { scoreTimeoutMs: 600_000, sweepMs: 25 });
    const backend = await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4' });
    const advance = backend.advance.bind(backend);
    // candidate 7 of prompt 2 breaks the accelerator at step 1 (every candidate goes through it)
    backend.advance = async (items: readonly AdvanceItem[], signal?: AbortSignal) => {
      if (items.some((it) => it.key.endsWith('/2/7') && it.toStep === 1)) throw new Error('device fault');
      return advance(items, signal);
    };
    const runtime = new WorkerRuntime({ id: 'w', backend, bus });
    closers.push(() => coordinator.close(), () => runtime.close(), () => bus.close());
    coordinator.registerWorker(new InProcessWorkerClient(runtime), backend.info, { remote: false });
    const bad = coordinator.submit({ prompts: [2], candidates: 200, schedule: [...PAPER_SCHEDULE], seed: 1 });
    const good = coordinator.submit({ prompts: [3], candidates: 20, schedule: [...PAPER_SCHEDULE], seed: 1 });
    await Promise.all([coordinator.whenEnded(bad.id), coordinator.whenEnded(good.id)]);
    expect(bad.state).toBe('failed');
    expect(bad.error).toMatch(/device fault/);
    expect(good.state).toBe('done');
    await runtime.idle();
    expect(runtime.liveCandidates).toBe(0);
  });
});
