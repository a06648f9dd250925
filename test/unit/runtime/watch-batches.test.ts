// WatchJobBatches sends WatchJob's events several a message (a socket write per message, not per event); the
// client reads it, and falls back to WatchJob where a coordinator older than the call refuses it.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobEvent, JobEvent__Output } from '../../../core/generated/ttsnap/v1/JobEvent.js';
import type { JobEventBatch__Output } from '../../../core/generated/ttsnap/v1/JobEventBatch.js';
import type { CoordinatorClient } from '../../../core/generated/ttsnap/v1/Coordinator.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { channelOptions, coordinatorProto, MAX_COORDINATOR_MESSAGE } from '../../../core/grpc/load.js';
import { serve, type ServingServer } from '../../../core/grpc/serve.js';
import { CoordinatorGrpcClient } from '../../../coordinator/client.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { eventBatches, eventBytesBound, MAX_BATCH_BYTES } from '../../../coordinator/event-batches.js';
import { startCoordinatorServer } from '../../../coordinator/service.js';
import { inProcessFixture } from '../../support/in-process.js';

/** Every message of a server stream, once it ends (or fails). */
function messages<M>(call: grpc.ClientReadableStream<M>): Promise<M[]> {
  return new Promise((resolve, reject) => {
    const out: M[] = [];
    call.on('data', (m: M) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

const stubOf = (port: number): CoordinatorClient => new (coordinatorProto().ttsnap.v1.Coordinator)(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions(MAX_COORDINATOR_MESSAGE));

/** Events less the budget events a running job's live watchers get as its stages close (not kept: each carries the seq of the event before it). */
const keptOnes = (events: readonly JobEvent__Output[]): JobEvent__Output[] => events.filter((e, i) => i === 0 || e.seq !== events[i - 1]?.seq);

const pruned = (prompt: number, ids: number): JobEvent => ({ job: 'j', at_s: 0, event: 'pruned', pruned: { prompt, step: 2, kept: Array.from({ length: ids }, (_, i) => i), pruned: [] }, seq: prompt });

describe('eventBatches', () => {
  it('keeps the order and cuts where the next event would pass the bound; a done event, or one past the bound, goes alone', () => {
    expect(eventBytesBound(pruned(1, 0))).toBe(1024);
    expect(eventBytesBound(pruned(1, 100))).toBe(1524);
    const image = new Uint8Array(5000);
    expect(eventBytesBound({ event: 'prompt_done', prompt_done: { text: 'ab', explored: [1, 2, 3], winner: { candidate: 1, image }, top_k: [{ candidate: 1, image }, { candidate: 2 }] } })).toBe(1024 + 15 + 6 + 5000 + 256 + 5000 + 256);
    const done: JobEvent = { event: 'done', done: { state: 'done' } };
    expect(eventBytesBound(done)).toBe(MAX_BATCH_BYTES);
    const events = [pruned(1, 0), pruned(2, 0), pruned(3, 0), pruned(4, 1000), pruned(5, 0), done];
    const seqs = (bs: JobEvent[][]): (number | undefined)[][] => bs.map((b) => b.map((e) => (e.done ? -1 : e.seq)));
    expect(seqs(eventBatches(events, 3000))).toEqual([[1, 2], [3], [4], [5], [-1]]);
    expect(seqs(eventBatches(events))).toEqual([[1, 2, 3, 4, 5], [-1]]);
    expect(eventBatches([])).toEqual([]);
  });
});

describe('WatchJobBatches', () => {
  const { bus, coordinator, join } = inProcessFixture();
  const servers: ServingServer[] = [];
  const clients: { close(): void }[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const s of servers.splice(0)) s.server.forceShutdown();
  });

  it("streams WatchJob's events, in fewer messages, live and replayed; the client reads them", async () => {
    const c = coordinator(new Coordinator(bus));
    await join(c, 'w0');
    const server = await startCoordinatorServer(c, '127.0.0.1:0');
    servers.push(server);
    const stub = stubOf(server.port);
    clients.push(stub);
    const job = c.submit({ prompts: [0, 1, 2, 3], candidates: 16, schedule: [...PAPER_SCHEDULE], seed: 5 }).id;
    const following = messages<JobEventBatch__Output>(stub.WatchJobBatches({ job }));
    const client = new CoordinatorGrpcClient(`127.0.0.1:${server.port}`);
    clients.push(client);
    const seen: JobEvent__Output[] = [];
    const done = await client.watch(job, (e) => seen.push(e));
    expect(done.done?.state).toBe('done');
    const batches = await following;
    // after the end, all of them replayed: one message an event on WatchJob
    const one = await messages<JobEvent__Output>(stub.WatchJob({ job }));
    const replayed = await messages<JobEventBatch__Output>(stub.WatchJobBatches({ job }));
    expect(replayed.flatMap((b) => b.events)).toEqual(one);
    expect(replayed.length).toBeLessThan(one.length);
    const live = batches.flatMap((b) => b.events);
    expect(batches.length).toBeLessThan(live.length);
    expect(keptOnes(live)).toEqual(one);
    expect(keptOnes(seen)).toEqual(one);
    expect(seen.filter((e) => e.event === 'prompt_done').map((e) => e.prompt_done?.prompt).sort()).toEqual([0, 1, 2, 3]);
    // a coordinator with a job it does not know answers as WatchJob does
    await expect(messages(stub.WatchJobBatches({ job: 'nope' }))).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  /** A coordinator that knows only WatchJob (an older one), answering WatchJobBatches as `batches` says. */
  async function olderCoordinator(batches: 'unknown' | 'refused', asked: string[]): Promise<ServingServer> {
    const events: JobEvent[] = [
      { job: 'j1', at_s: 0.5, event: 'stage', stage: { prompt: 1, step: 2, alive: 4, final: false }, seq: 1 },
      { job: 'j1', at_s: 1, event: 'done', done: { state: 'done' }, seq: 2 },
    ];
    const handlers: Record<string, (call: grpc.ServerWritableStream<unknown, unknown>) => void> = {
      WatchJob: (call) => {
        asked.push('WatchJob');
        for (const e of events) call.write(e);
        call.end();
      },
    };
    if (batches === 'refused') {
      handlers.WatchJobBatches = (call) => {
        asked.push('WatchJobBatches');
        call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: 'WatchJobBatches: not in the role table' });
      };
    }
    const server = await serve(coordinatorProto().ttsnap.v1.Coordinator.service, handlers, 'ttsnap.v1.Coordinator', MAX_COORDINATOR_MESSAGE, '127.0.0.1:0', {});
    servers.push(server);
    return server;
  }

  for (const batches of ['unknown', 'refused'] as const) {
    it(`falls back to WatchJob where the coordinator ${batches === 'unknown' ? 'does not know' : 'refuses'} WatchJobBatches, and asks it that way from then on`, async () => {
      const asked: string[] = [];
      const server = await olderCoordinator(batches, asked);
      const client = new CoordinatorGrpcClient(`127.0.0.1:${server.port}`);
      clients.push(client);
      const seen: number[] = [];
      const done = await client.watch('j1', (e) => seen.push(e.seq));
      expect(done.done?.state).toBe('done');
      expect(seen).toEqual([1, 2]);
      await client.watch('j1', () => undefined);
      expect(asked).toEqual(batches === 'unknown' ? ['WatchJob', 'WatchJob'] : ['WatchJobBatches', 'WatchJob', 'WatchJob']);
    });
  }
});
