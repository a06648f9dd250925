// The coordinator's worker client sends the Take, Advance and Release calls of one turn as one request on the
// worker's Batch stream: each call still settles with its own outcome, and a worker that goes away fails what
// was in flight as a lost worker. Requests whose ops all succeed are acknowledged together.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryScoreBus } from '../../../core/bus/memory.js';
import type { Score } from '../../../core/bus/score-bus.js';
import { CandidateMissingError, WorkerLostError } from '../../../core/contract/errors.js';
import { shutdown } from '../../../core/grpc/status.js';
import type { ServingServer } from '../../../core/grpc/serve.js';
import { promptGroups, takePrompts } from '../../../core/contract/candidate-groups.js';
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

  /** busy seconds each answer reported to the client (0 = not said) */
  let heard: number[] = [];

  async function start(): Promise<{ rt: WorkerRuntime; scores: Score[] }> {
    const bus = new MemoryScoreBus();
    const scores: Score[] = [];
    bus.subscribe((s) => scores.push(s));
    const rt = new WorkerRuntime({ id: 'w1', backend: await createTraceBackend({ base: BASE, narf: NARF, maxBatch: '4', stepMs: '0' }), bus });
    served = await startWorkerServer(rt, '127.0.0.1:0');
    heard = [];
    client = new GrpcWorkerClient('w1', `127.0.0.1:${served.port}`, 30_000, undefined, (busy) => heard.push(busy));
    return { rt, scores };
  }

  it('calls of one turn each settle with their own outcome, applied in the order made', async () => {
    const { rt, scores } = await start();
    const c = client as GrpcWorkerClient;
    const specs = [0, 1, 2].map((candidate) => ({ prompt: 5, candidate, seed: candidate, text: '' }));
    // a take and the advance that needs it, an advance of a candidate nobody took, a release: all in one turn
    const outcomes = await Promise.allSettled([
      c.take('j1', takePrompts(specs)),
      c.advance('j1', 3, promptGroups(specs.map(({ prompt, candidate }) => ({ prompt, candidate }))), rewards),
      c.advance('j1', 3, promptGroups([{ prompt: 5, candidate: 9 }]), rewards),
      c.release('j1', promptGroups([{ prompt: 5, candidate: 2 }])),
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
    const calls = [track('take 0', c.take('j1', takePrompts([{ prompt: 5, candidate: 0, seed: 0, text: '' }])))];
    await turn();
    calls.push(track('take 1', c.take('j1', takePrompts([{ prompt: 5, candidate: 1, seed: 1, text: '' }]))));
    await turn();
    calls.push(track('advance 9', c.advance('j1', 3, promptGroups([{ prompt: 5, candidate: 9 }]), rewards)));
    await Promise.all(calls);
    expect(settled).toEqual(['take 0 done', 'take 1 done', 'advance 9 failed']);
    // then successes alone: acknowledged together, and applied
    await Promise.all([c.advance('j1', 3, promptGroups([{ prompt: 5, candidate: 0 }]), rewards), turn().then(() => c.release('j1', promptGroups([{ prompt: 5, candidate: 1 }])))]);
    await rt.idle();
    expect(rt.liveCandidates).toBe(1);
  });

  it("keepalives travel on the open stream: the pending acknowledgement first, then id 0 with the worker's busy seconds", async () => {
    const { rt } = await start();
    const c = client as GrpcWorkerClient;
    expect(rt.keepalive()).toBe(false); // no stream open yet: the worker heartbeats
    let acked = false;
    const take = c.take('j1', takePrompts([{ prompt: 5, candidate: 0, seed: 0, text: '' }])).then(() => (acked = true));
    const until = async (what: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(what()).toBe(true);
    };
    await until(() => rt.liveCandidates === 1);
    expect(acked).toBe(false); // a success lingers up to a second
    const t0 = Date.now();
    expect(rt.keepalive()).toBe(true);
    await take;
    expect(Date.now() - t0).toBeLessThan(500);
    // the keepalive the worker sends as the stream opens (it reads grouped candidates), then the acknowledgement
    expect(heard).toEqual([0, 0]);
    // a segment run (busy seconds > 0), acknowledged; then nothing pending: id 0, which settles nothing and
    // carries the busy seconds
    await c.advance('j1', 2, promptGroups([{ prompt: 5, candidate: 0 }]), rewards);
    await rt.idle();
    await until(() => heard.length === 3);
    expect(rt.keepalive()).toBe(true);
    await until(() => heard.length === 4);
    expect(heard[3]).toBe(rt.busySeconds);
    expect(rt.busySeconds).toBeGreaterThan(0);
    // calls still work, and a closed stream sends no keepalives: the worker heartbeats again
    await c.release('j1', promptGroups([{ prompt: 5, candidate: 0 }]));
    c.close();
    client = undefined;
    await until(() => !rt.keepalive());
  });

  it('grouped candidates (sent once the worker has said it reads them) apply as ungrouped ones do', async () => {
    const { rt, scores } = await start();
    const c = client as GrpcWorkerClient;
    // opens the stream; the worker's first keepalive says it reads grouped candidates
    await c.take('j1', takePrompts([{ prompt: 4, candidate: 0, seed: 0, text: 'first' }]));
    const specs = [0, 1, 2].map((candidate) => ({ prompt: 5, candidate, seed: candidate, text: 'a fox', sampling: { guidance: 3, steps: 0, negative_prompt: '', width: 0, height: 0 } }));
    const outcomes = await Promise.allSettled([
      c.take('j1', takePrompts(specs)),
      c.advance('j1', 3, promptGroups([...specs, { prompt: 4, candidate: 0 }].map(({ prompt, candidate }) => ({ prompt, candidate }))), rewards),
      c.advance('j1', 3, promptGroups([{ prompt: 5, candidate: 9 }]), rewards),
      c.release('j1', promptGroups([{ prompt: 5, candidate: 2 }])),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[2] as PromiseRejectedResult).reason).toBeInstanceOf(CandidateMissingError);
    await rt.idle();
    expect(scores.map((s) => [s.prompt, s.candidate, s.step]).sort()).toEqual([[4, 0, 3], [5, 0, 3], [5, 1, 3]]);
    expect(rt.liveCandidates).toBe(3);
  });

  it('closing the client fails the releases it held at once; nothing is sent after', async () => {
    const { rt } = await start();
    const c = client as GrpcWorkerClient;
    await c.take('j1', takePrompts([{ prompt: 5, candidate: 0, seed: 0, text: '' }]));
    const held = c.release('j1', promptGroups([{ prompt: 5, candidate: 0 }])); // waits up to 500 ms for a fill to ride with
    c.close();
    client = undefined;
    await expect(held).rejects.toThrow('its client was closed');
    await new Promise((r) => setTimeout(r, 700));
    expect(rt.liveCandidates).toBe(1);
  });

  it('a worker that goes away fails the calls in flight as a lost worker', async () => {
    await start();
    const c = client as GrpcWorkerClient;
    await c.take('j1', takePrompts([{ prompt: 5, candidate: 0, seed: 0, text: '' }]));
    (served as ServingServer).server.forceShutdown();
    served = undefined;
    await expect(c.advance('j1', 3, promptGroups([{ prompt: 5, candidate: 0 }]), rewards)).rejects.toBeInstanceOf(WorkerLostError);
  });
});
