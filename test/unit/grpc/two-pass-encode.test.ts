import { isAbsolute, join } from 'node:path';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { protoTypes } from '../../../core/grpc/direct-encode.js';
import { protoRoot } from '../../../core/grpc/load.js';
import { encodeTwoPass, twoPassPlan } from '../../../core/grpc/two-pass-encode.js';

/** worker.proto as plain protobufjs loads it (its own generated encoders): the reference for the bytes. */
function plainTypes(file: string): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(protoRoot(), target));
  root.loadSync(file, { keepCase: true });
  return root;
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const text = fc.string({ unit: 'grapheme', maxLength: 60 });
const list = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T[]> => fc.array(a, { maxLength: 6 });
/** A message's fields each present, absent or (a nested message) null, as protobufjs accepts them. */
const some = <T extends Record<string, unknown>>(fields: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(fields, { requiredKeys: [] });
const sampling = fc.option(some({ guidance: fc.double(), steps: u32, negative_prompt: text, width: u32, height: u32 }));
const ref = some({ prompt: u32, candidate: u32 });
const group = some({ prompt: u32, candidates: list(u32) });
const take = some({
  job: text,
  candidates: list(some({ prompt: u32, candidate: u32, seed: u32, text, sampling })),
  prompts: list(some({ prompt: u32, text, sampling, candidates: list(u32), seeds: list(u32) })),
});
const advance = some({ job: text, to_step: u32, candidates: list(ref), rewards: list(some({ name: text, noise_aware: fc.boolean() })), groups: list(group), previews: fc.boolean() });
const release = some({ job: text, candidates: list(ref), groups: list(group) });
const op = fc.oneof(fc.record({ take }), fc.record({ advance }), fc.record({ release }), fc.constant({}));
const batch = some({ ops: list(op), id: u32, answer_failures: fc.boolean() });

describe('two-pass encoding', () => {
  const types = protoTypes(protoRoot(), 'ttsnap/v1/worker.proto');
  const plan = twoPassPlan(types.lookupType('ttsnap.v1.WorkerBatchRequest'));
  const reference = plainTypes('ttsnap/v1/worker.proto').lookupType('ttsnap.v1.WorkerBatchRequest');

  it('plans the Batch request tree, and no type with a kind it does not cover', () => {
    expect(plan).not.toBeNull();
    // JobEvent holds maps (a result's scores), ExportLatentResponse bytes and an int32
    expect(twoPassPlan(protoTypes(protoRoot(), 'ttsnap/v1/coordinator.proto').lookupType('ttsnap.v1.JobEvent'))).toBeNull();
    expect(twoPassPlan(types.lookupType('ttsnap.v1.ExportLatentResponse'))).toBeNull();
    expect(twoPassPlan(types.lookupType('ttsnap.v1.HeldCandidate'))).toBeNull();
  });

  it("writes protobufjs's bytes for any Batch request: fields absent, null, empty, at every varint length, any text", () => {
    fc.assert(
      fc.property(batch, (request) => {
        expect(encodeTwoPass(plan!, request).toString('hex')).toBe(Buffer.from(reference.encode(request).finish()).toString('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it('gives each message a buffer of its own, whatever came before it', () => {
    const big = { id: 1, ops: [{ advance: { job: 'j', groups: [{ prompt: 1, candidates: Array.from({ length: 10_000 }, (_, i) => i * 977) }] } }] };
    const small = { id: 2, ops: [{ release: { job: 'k', candidates: [{ prompt: 3, candidate: 4 }] } }] };
    const a = encodeTwoPass(plan!, big);
    const b = encodeTwoPass(plan!, small);
    expect(b.toString('hex')).toBe(Buffer.from(reference.encode(small).finish()).toString('hex'));
    expect(a.toString('hex')).toBe(Buffer.from(reference.encode(big).finish()).toString('hex'));
  });
});

describe('two-pass encoding of a type that nests itself', () => {
  // no Batch request type nests itself; its plan refers to itself (twoPassPlan reuses the plan being built)
  const root = protobuf.Root.fromJSON({
    nested: { Node: { fields: { label: { type: 'string', id: 1 }, weight: { type: 'double', id: 2 }, children: { rule: 'repeated', type: 'Node', id: 3 }, ids: { rule: 'repeated', type: 'uint32', id: 4 } } } },
  });
  const type = root.lookupType('Node');
  const plan = twoPassPlan(type);
  interface Tree {
    label?: string;
    weight?: number;
    children?: Tree[];
    ids?: number[];
  }
  const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
    node: some({ label: text, weight: fc.double(), children: fc.array(tie('node'), { maxLength: 3 }), ids: list(u32) }),
  })).node;

  it("writes protobufjs's bytes at any depth", () => {
    expect(plan).not.toBeNull();
    fc.assert(
      fc.property(tree, (t) => {
        expect(encodeTwoPass(plan!, t).toString('hex')).toBe(Buffer.from(type.encode(t).finish()).toString('hex'));
      }),
      { numRuns: 300 },
    );
  });
});
