import { isAbsolute, join } from 'node:path';
import type { PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { encodeTwoPass, packedLength, twoPassPlan } from './two-pass-encode.js';

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
  { service: 'ttsnap.v1.Coordinator', method: 'WatchJobBatches', side: 'response' },
];

/** The protobufjs types of `file` (under `root`), loaded as proto-loader loads them (field names as written). */
export function protoTypes(root: string, file: string): protobuf.Root {
  const types = new protobuf.Root();
  types.resolvePath = (_origin, target) => (isAbsolute(target) ? target : join(root, target));
  types.loadSync(file, { keepCase: true });
  types.resolveAll();
  packUint32Lists(types);
  return types;
}

/** Writes values as varints at pos (protobufjs calls it when it assembles the message's bytes). */
function writeVarints(values: readonly number[], buf: Uint8Array, pos: number): void {
  let p = pos;
  for (let i = 0; i < values.length; i++) {
    let v = (values[i] as number) >>> 0;
    while (v > 0x7f) {
      buf[p++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[p++] = v;
  }
}

/**
 * protobufjs's Writer queues each write as an operation (a function, its length and value) and runs them when it
 * assembles the bytes; `_push` is how its own writers queue one. Not in its typings: checked once, at load.
 */
interface QueueingWriter {
  _push(fn: (values: readonly number[], buf: Uint8Array, pos: number) => void, len: number, values: readonly number[]): protobuf.Writer;
}
const canQueue = typeof (protobuf.Writer.prototype as unknown as Partial<QueueingWriter>)._push === 'function';

/**
 * A packed repeated uint32 field (proto3's default for them): its tag, the length, then the values as varints,
 * the bytes protobufjs writes (values taken `>>> 0` as it does), queued as one operation: protobufjs queues one
 * object per value, and a Batch request's candidate indices and seeds were most of its garbage. The values are
 * read when the message is assembled (encode(...).finish(), in the same turn), so the list must not change before.
 */
function writePacked(w: protobuf.Writer, tag: number, values: readonly number[] | null | undefined): void {
  if (!values || values.length === 0) return;
  const len = packedLength(values);
  w.uint32(tag).uint32(len);
  if (canQueue) {
    (w as unknown as QueueingWriter)._push(writeVarints, len, values);
    return;
  }
  for (let i = 0; i < values.length; i++) w.uint32(values[i] as number);
}

type Fields = Record<string, unknown>;
/** A message's encoder as protobufjs's generated ones are called (the third argument: the nesting depth). */
type Encode = (m: Fields, w: protobuf.Writer, q: number) => protobuf.Writer;
/** Writes one field of `m`, if present. */
type WriteField = (m: Fields, w: protobuf.Writer, q: number) => void;
/** A writer's method for a scalar type (protobufjs names them after the types: uint32, string, double...). */
type WriteScalar = (w: protobuf.Writer, v: unknown) => void;

const basic = protobuf.types.basic as Readonly<Record<string, number | undefined>>;
const packable = protobuf.types.packed as Readonly<Record<string, number | undefined>>;

function scalarWriter(type: string): WriteScalar {
  return (w, v) => (w as unknown as Record<string, (v: unknown) => protobuf.Writer>)[type]?.(v);
}

/**
 * Writes `field` as protobufjs's generated encoder does (same presence tests, same wire form), or null for a
 * kind this does not cover (maps, enums, groups): that type keeps its generated encoder.
 */
function fieldWriter(field: protobuf.Field): WriteField | null {
  field.resolve();
  const { name, type, id } = field;
  const rt = field.resolvedType;
  if (field.map || rt instanceof protobuf.Enum || field.delimited) return null;
  const tag = (wire: number): number => ((id << 3) | wire) >>> 0;
  const list = (m: Fields): unknown[] | null => {
    const v = m[name] as unknown[] | null | undefined;
    return v != null && v.length > 0 ? v : null;
  };
  if (rt instanceof protobuf.Type) {
    // Looked up at each call, not bound here: until its first use a type's `encode` is protobufjs's
    // `encode_setup`, which generates all five of its functions anew (new Function) on every call it gets; the
    // first call replaces it on the type, so a bound copy would regenerate them for every message written.
    const encode: Encode = (m, w, q) => (rt.encode as unknown as Encode)(m, w, q);
    if (field.repeated) return (m, w, q) => list(m)?.forEach((x) => encode(x as Fields, w.uint32(tag(2)).fork(), q + 1).ldelim());
    return (m, w, q) => void (m[name] != null && Object.hasOwn(m, name) && encode(m[name] as Fields, w.uint32(tag(2)).fork(), q + 1).ldelim());
  }
  const wire = basic[type];
  if (wire === undefined) return null;
  const write = scalarWriter(type);
  if (field.repeated && field.packed && packable[type] !== undefined) {
    if (type === 'uint32') return (m, w) => writePacked(w, tag(2), list(m) as number[] | null);
    return (m, w) => {
      const v = list(m);
      if (!v) return;
      w.uint32(tag(2)).fork();
      for (const x of v) write(w, x);
      w.ldelim();
    };
  }
  if (field.repeated) return (m, w) => list(m)?.forEach((x) => write(w.uint32(tag(wire)), x));
  if (!field.optional) return (m, w) => write(w.uint32(tag(wire)), m[name]);
  return (m, w) => void (m[name] != null && Object.hasOwn(m, name) && write(w.uint32(tag(wire)), m[name]));
}

/**
 * Every message type of `types` with a packed list of uint32 (worker.proto's candidate lists and seeds, a watch
 * event's pruned and kept ids, a result's explored ids) gets an encoder that writes such lists with writePacked
 * and every other field as protobufjs's generated encoder writes it, in field-number order; a type with a field
 * of a kind fieldWriter does not cover keeps its own. test/unit/grpc/direct-encode.test.ts checks the bytes of
 * Batch requests and of every watch event of a job's run against proto-loader's serializer.
 */
function packUint32Lists(types: protobuf.Root): void {
  const walk = (ns: protobuf.NamespaceBase): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type) packedEncoder(child);
      if (child instanceof protobuf.Namespace || child instanceof protobuf.Type) walk(child);
    }
  };
  walk(types);
}

function packedEncoder(type: protobuf.Type): void {
  const fields = type.fieldsArray.slice().sort((a, b) => a.id - b.id);
  if (!fields.some((f) => f.repeated && f.packed && f.type === 'uint32' && !(f.resolve().resolvedType instanceof protobuf.Enum))) return;
  const writers = fields.map(fieldWriter);
  if (writers.some((w) => w === null)) return;
  const all = writers as WriteField[];
  type.setup(); // its generated encoder would replace this one on first use otherwise
  const encode: Encode = (m, w = protobuf.Writer.create(), q = 0) => {
    if (q > protobuf.util.recursionLimit) throw new Error('max depth exceeded');
    for (const write of all) write(m, w, q);
    return w;
  };
  type.encode = encode as unknown as protobuf.Type['encode'];
}

/**
 * Encodes a message of `type` as given (see DIRECT_MESSAGES): in two passes into one buffer where every type of
 * its tree allows (two-pass-encode.ts: the Batch requests), else by protobufjs's Writer.
 */
export function directEncoder(type: protobuf.Type): (value: object) => Buffer {
  const plan = twoPassPlan(type);
  if (plan) return (value) => encodeTwoPass(plan, value);
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
