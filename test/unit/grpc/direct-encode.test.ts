// The coordinator's hottest messages are encoded as given, without proto-loader's fromObject copy: the bytes must
// be the ones proto-loader's own serializer writes, for every form the coordinator sends.
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { describe, expect, it, vi } from 'vitest';
import { groupRefs, promptGroups, takePrompts } from '../../../core/contract/candidate-groups.js';
import type { TakeSpec } from '../../../core/contract/candidates.js';
import { DIRECT_MESSAGES, encodeDirectly, protoTypes } from '../../../core/grpc/direct-encode.js';
import { protoRoot } from '../../../core/grpc/load.js';
import type { JobEvent } from '../../../core/generated/ttsnap/v1/JobEvent.js';
import type { WorkerBatchRequest } from '../../../core/generated/ttsnap/v1/WorkerBatchRequest.js';
import { PAPER_SCHEDULE } from '../../../core/engine/schedule.js';
import { Coordinator } from '../../../coordinator/coordinator.js';
import { inProcessFixture } from '../../support/in-process.js';

const OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** proto-loader's serializer and the direct one, of one method's message. */
function serializers(file: string, service: string, method: string, side: 'request' | 'response'): { loader: (v: object) => Buffer; direct: (v: object) => Buffer } {
  const pick = (def: protoLoader.PackageDefinition): ((v: object) => Buffer) => {
    const m = (def[service] as protoLoader.ServiceDefinition)[method] as protoLoader.MethodDefinition<object, object>;
    return side === 'request' ? m.requestSerialize : m.responseSerialize;
  };
  const loader = pick(protoLoader.loadSync(file, { ...OPTIONS, includeDirs: [protoRoot()] }));
  const def = protoLoader.loadSync(file, { ...OPTIONS, includeDirs: [protoRoot()] });
  encodeDirectly(def, protoTypes(protoRoot(), file));
  return { loader, direct: pick(def) };
}

/**
 * Once a message of every kind has been written, writing them again generates no encoder anew: protobufjs's
 * `setup` compiles all of a type's functions (new Function) each time it runs.
 */
function expectNoSetup(writeAgain: () => void): void {
  const setup = vi.spyOn(protobuf.Type.prototype, 'setup');
  try {
    writeAgain();
    expect(setup).not.toHaveBeenCalled();
  } finally {
    setup.mockRestore();
  }
}

describe('direct encoding of the hottest messages', () => {
  it('lists the Batch requests and the watch events, one a message and batched', () => {
    expect(DIRECT_MESSAGES.map((m) => `${m.service}.${m.method} ${m.side}`)).toEqual(['ttsnap.v1.Worker.Batch request', 'ttsnap.v1.Coordinator.WatchJob response', 'ttsnap.v1.Coordinator.WatchJobBatches response']);
  });

  it('writes the bytes proto-loader writes for Batch requests of every op, grouped and not', () => {
    const { loader, direct } = serializers('ttsnap/v1/worker.proto', 'ttsnap.v1.Worker', 'Batch', 'request');
    const sampling = { guidance: 4.5, steps: 30, negative_prompt: 'blurry', width: 1024, height: 768 };
    const specs: TakeSpec[] = [
      { prompt: 3, candidate: 0, seed: 4_294_967_295, text: 'a red fox', sampling },
      { prompt: 3, candidate: 7, seed: 12, text: 'a red fox', sampling },
      { prompt: 9, candidate: 2, seed: 0, text: 'ünïcödé ✓', sampling: null },
    ];
    const refs = specs.map(({ prompt, candidate }) => ({ prompt, candidate }));
    const rewards = [{ name: 'pic', noise_aware: true }, { name: 'hps', noise_aware: false }];
    const requests: WorkerBatchRequest[] = [
      { id: 1, answer_failures: true, ops: [{ take: { job: 'j1', prompts: takePrompts(specs) } }, { advance: { job: 'j1', to_step: 2, rewards, previews: true, groups: promptGroups(refs) } }, { release: { job: 'j1', groups: promptGroups(refs) } }] },
      { id: 4_294_967_295, ops: [{ take: { job: 'j2', candidates: specs.map((s) => ({ prompt: s.prompt, candidate: s.candidate, seed: s.seed, text: s.text, ...(s.sampling ? { sampling: s.sampling } : {}) })) } }, { advance: { job: 'j2', to_step: 19, rewards: [], previews: false, candidates: refs } }, { release: { job: 'j2', candidates: groupRefs(promptGroups(refs)) } }] },
      { id: 2, ops: [] },
      // the packed lists at every varint length, an empty list, prompt 0, a prompt without text or settings
      {
        id: 3,
        ops: [
          { take: { job: 'j3', prompts: [{ prompt: 0, text: '', sampling: null, candidates: [0, 127, 128, 16_383, 16_384, 2_097_152, 268_435_456], seeds: [1, 300, 70_000, 2 ** 21 - 1, 2 ** 28 - 1, 2 ** 31, 4_294_967_295] }, { prompt: 1, text: 'x', sampling, candidates: [], seeds: [] }] } },
          { advance: { job: 'j3', to_step: 0, rewards, previews: false, groups: [{ prompt: 0, candidates: [] }, { prompt: 65_536, candidates: [5, 1_000_000, 3] }] } },
          { release: { job: 'j3', groups: [{ prompt: 2, candidates: [4_294_967_295] }] } },
        ],
      },
    ];
    for (const r of requests) expect(direct(r).toString('hex')).toBe(loader(r).toString('hex'));
    expectNoSetup(() => requests.forEach(direct));
    // the settings are on the wire, not dropped by both alike
    expect(direct(requests[0] as WorkerBatchRequest).includes(Buffer.from('blurry'))).toBe(true);
  });

  describe('watch events', () => {
    const { bus, coordinator, join } = inProcessFixture();

    it("writes the bytes proto-loader writes for every event of a job's run", async () => {
      const { loader, direct } = serializers('ttsnap/v1/coordinator.proto', 'ttsnap.v1.Coordinator', 'WatchJob', 'response');
      const c = coordinator(new Coordinator(bus));
      await join(c, 'w0');
      const job = c.submit({ prompts: [0, 1], candidates: 12, schedule: [...PAPER_SCHEDULE], seed: 5, top_k: 3, label: 'direct' });
      const events: JobEvent[] = [];
      c.watch(job.id, (e) => events.push(e));
      await c.whenEnded(job.id);
      await new Promise((r) => setTimeout(r, 50));
      const kinds = new Set(events.map((e) => e.event));
      for (const k of ['stage', 'pruned', 'prompt_done', 'budget', 'done']) expect(kinds).toContain(k);
      for (const e of events) expect(direct(e).toString('hex')).toBe(loader(e).toString('hex'));
      expectNoSetup(() => events.forEach(direct));
      const batches = serializers('ttsnap/v1/coordinator.proto', 'ttsnap.v1.Coordinator', 'WatchJobBatches', 'response');
      const messages = [{ events }, { events: events.slice(0, 1) }, { events: [] }];
      for (const m of messages) expect(batches.direct(m).toString('hex')).toBe(batches.loader(m).toString('hex'));
      expectNoSetup(() => messages.forEach(batches.direct));
    });
  });
});
