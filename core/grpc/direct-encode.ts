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
  return types;
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
