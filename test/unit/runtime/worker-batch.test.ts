// The coordinator's worker client sends the Take, Advance and Release calls of one turn as one request on the
// worker's Batch stream: each call still settles with its own outcome, and a worker that goes away fails what
// was in flight as a lost worker. Requests whose ops all succeed are acknowledged together.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryScoreBus } from '../../../core/bus/memory.js';
import type { Score } from '../../../core/bus/score-bus.js';
import { CandidateMissingError, WorkerLostError } from '../../../core/contract/errors.js';
import { shutdown } from '../../../core/grpc/status.js';
import type { ServingServer } from '../../../core/grpc/serve.js';
import { GrpcWorkerClient } from '../../../coordinator/grpc-worker-client.js';
import { createTraceBackend } from '../../../worker/backends/trace.js';
import { WorkerRuntime } from '../../../worker/runtime.js';
import { startWorkerServer } from '../../../worker/server.js';
import { BASE, NARF } from '../../integration/runtime/engine-alone.js';

const rewards = [{ name: 'pic', noiseAware: false }];

describe('worker Batch stream', () => {
  let served: ServingServer | undefined;
  let client: GrpcWorkerClient | undefined;
  afterEach(async () => {
    client?.close();
    if (served) await shutdown(served.server, 100);
    served = client = undefined;
  });

  async function start(): Promise<{ rt: WorkerRuntime; scores: Score[] }> {
    const bus = new MemoryScoreBus();
    const scores: Score[] = [];
    bus.subscribe((s) => scores.push(s));
    const rt = new WorkerRuntime({ id: 'w1', backend: await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '0' }), bus });
    served = await startWorkerServer(rt, '127.0.0.1:0');
    client = new GrpcWorkerClient('w1', `127.0.0.1:${served.port}`);
    return { rt, scores };
  }

  it('calls of one turn each settle with their own outcome, applied in the order made', async () => {
    const { rt, scores } = await start();
    const c = client as GrpcWorkerClient;
    const specs = [0, 1, 2].map((candidate) => ({ prompt: 5, candidate, seed: candidate, text: '' }));
    // a take and the advance that needs it, an advance of a candidate nobody took, a release: all in one turn
    const outcomes = await Promise.allSettled([
      c.take('j1', specs),
      c.advance('j1', 3, specs.map(({ prompt, candidate }) => ({ prompt, candidate })), rewards),
      c.advance('j1', 3, [{ prompt: 5, candidate: 9 }], rewards),
      c.release('j1', [{ prompt: 5, candidate: 2 }]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(CandidateMissingError);
    await rt.idle();
    // candidate 2 was released before its segment ran; 0 and 1 were scored at step 3
    expect(scores.map((s) => [s.candidate, s.step]).sort()).toEqual([[0, 3], [1, 3]]);
    expect(rt.liveCandidates).toBe(2);
  });

  it('calls of several turns that succeed settle together; a failure settles at once with every call before it', async () => {
    const { rt } = await start();
    const c = client as GrpcWorkerClient;
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const settled: string[] = [];
    const track = (name: string, p: Promise<void>): Promise<void> => p.then(() => void settled.push(`${name} done`), () => void settled.push(`${name} failed`));
    const calls = [track('take 0', c.take('j1', [{ prompt: 5, candidate: 0, seed: 0, text: '' }]))];
    await turn();
    calls.push(track('take 1', c.take('j1', [{ prompt: 5, candidate: 1, seed: 1, text: '' }])));
    await turn();
    calls.push(track('advance 9', c.advance('j1', 3, [{ prompt: 5, candidate: 9 }], rewards)));
    await Promise.all(calls);
    expect(settled).toEqual(['take 0 done', 'take 1 done', 'advance 9 failed']);
    // then successes alone: acknowledged together, and applied
    await Promise.all([c.advance('j1', 3, [{ prompt: 5, candidate: 0 }], rewards), turn().then(() => c.release('j1', [{ prompt: 5, candidate: 1 }]))]);
    await rt.idle();
    expect(rt.liveCandidates).toBe(1);
  });

  it('a worker that goes away fails the calls in flight as a lost worker', async () => {
    await start();
    const c = client as GrpcWorkerClient;
    await c.take('j1', [{ prompt: 5, candidate: 0, seed: 0, text: '' }]);
    (served as ServingServer).server.forceShutdown();
    served = undefined;
    await expect(c.advance('j1', 3, [{ prompt: 5, candidate: 0 }], rewards)).rejects.toBeInstanceOf(WorkerLostError);
  });
});
