import { isAbsolute, join } from 'node:path';
import type { PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';

/** A message of a method that is encoded as given, without proto-loader's fromObject copy. */
export interface DirectMessage {
  /** the service's full name, `ttsnap.v1.Worker` */
  readonly service: string;
  readonly method: string;
  /** request: the client encodes it; response: the server does */
  readonly side: 'request' | 'response';
}

/**
 * The hottest messages: the coordinator's Batch requests to its workers and the events it streams to watchers.
 * proto-loader encodes a message by first copying it into protobufjs message objects (fromObject), a second
 * tree of every request, made to be thrown away; these are encoded from the objects as given. Safe because the
 * coordinator builds them from the generated types, whose fields already have the wire's types (numbers, strings,
 * byte arrays; no enums in these protos); test/unit/bus/direct-encode.test.ts checks the bytes are the same.
 */
export const DIRECT_MESSAGES: readonly DirectMessage[] = [
  { service: 'ttsnap.v1.Worker', method: 'Batch', side: 'request' },
  { service: 'ttsnap.v1.Coordinator', method: 'WatchJob', side: 'response' },
];

/** The protobufjs types of `file` (under `root`), loaded as proto-loader loads them (field names as written). */
export function protoTypes(root: string, file: string): protobuf.Root {
  const types = new protobuf.Root();
  types.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(root, target));
  types.loadSync(file, { keepCase: true });
  types.resolveAll();
  packCandidateLists(types);
  return types;
}

/** Bytes of a varint of v (an unsigned 32-bit value). */
function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/**
 * A packed repeated uint32 field (proto3's default for them): its tag, then its varints as one length-delimited
 * run of bytes, as protobufjs writes it, values taken `>>> 0` as it does. Written in one piece: protobufjs queues an
 * operation object per value, and a Batch request's candidate indices and seeds were most of its garbage.
 */
function writePacked(w: protobuf.Writer, tag: number, values: readonly number[] | null | undefined): void {
  if (!values || values.length === 0) return;
  let len = 0;
  for (const v of values) len += varintLength(v >>> 0);
  const out = Buffer.allocUnsafe(len);
  let p = 0;
  for (const v0 of values) {
    let v = v0 >>> 0;
    while (v > 0x7f) {
      out[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[p++] = v;
  }
  w.uint32(tag).bytes(out);
}

type Fields = Record<string, unknown>;
const has = (m: Fields, key: string): boolean => m[key] != null && Object.hasOwn(m, key);

/**
 * The messages that carry candidate lists (worker.proto PromptCandidates, TakePrompt) get encoders that write
 * those lists with writePacked; every other field as protobufjs's generated encoder writes it, in field order
 * (the lists are their last fields). test/unit/grpc/direct-encode.test.ts checks the bytes against proto-loader's.
 */
function packCandidateLists(types: protobuf.Root): void {
  const lookup = (name: string): protobuf.Type | null => {
    const t = types.lookup(name);
    if (!(t instanceof protobuf.Type)) return null;
    t.setup(); // its own encoder replaces this one on first use otherwise
    return t;
  };
  const groups = lookup('ttsnap.v1.PromptCandidates');
  if (groups) {
    groups.encode = (m: Fields, w = protobuf.Writer.create()) => {
      if (has(m, 'prompt')) w.uint32(8).uint32(m.prompt as number);
      writePacked(w, 18, m.candidates as number[] | undefined);
      return w;
    };
  }
  const take = lookup('ttsnap.v1.TakePrompt');
  const sampling = lookup('ttsnap.v1.SamplingSettings');
  if (take && sampling) {
    take.encode = (m: Fields, w = protobuf.Writer.create()) => {
      if (has(m, 'prompt')) w.uint32(8).uint32(m.prompt as number);
      if (has(m, 'text')) w.uint32(18).string(m.text as string);
      if (has(m, 'sampling')) sampling.encode(m.sampling as Fields, w.uint32(26).fork()).ldelim();
      writePacked(w, 34, m.candidates as number[] | undefined);
      writePacked(w, 42, m.seeds as number[] | undefined);
      return w;
    };
  }
}

/** Encodes a message of `type` as given (see DIRECT_MESSAGES). */
export function directEncoder(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    const bytes = type.encode(value).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Gives the listed methods of `def` that `types` defines direct encoders (the definition is changed in place). */
export function encodeDirectly(def: PackageDefinition, types: protobuf.Root, messages: readonly DirectMessage[] = DIRECT_MESSAGES): void {
  for (const m of messages) {
    const service = def[m.service] as ServiceDefinition | undefined;
    const method = service?.[m.method];
    if (!method) continue;
    const rpc = types.lookupService(m.service).methods[m.method];
    if (!rpc) throw new Error(`${m.service}.${m.method} is not in the proto`);
    const type = m.side === 'request' ? rpc.resolvedRequestType : rpc.resolvedResponseType;
    if (!type) throw new Error(`${m.service}.${m.method}: its ${m.side} type did not resolve`);
    if (m.side === 'request') method.requestSerialize = directEncoder(type);
    else method.responseSerialize = directEncoder(type);
  }
}
