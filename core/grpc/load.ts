import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { packageRoot } from '../package-root.js';
import { encodeDirectly, protoTypes } from './direct-encode.js';
import type { ProtoGrpcType as CoordinatorProto } from '../generated/coordinator.js';
import type { ProtoGrpcType as WorkerProto } from '../generated/worker.js';

/** The same options as the `gen` script, so runtime objects match the generated types. */
const LOADER_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** proto/ at the package root (the same whether this runs from source or from dist/). */
export function protoRoot(): string {
  return join(packageRoot(), 'proto');
}

function load<T>(file: string): T {
  const root = protoRoot();
  const def = protoLoader.loadSync(file, { ...LOADER_OPTIONS, includeDirs: [root] });
  encodeDirectly(def, protoTypes(root, file));
  return grpc.loadPackageDefinition(def) as unknown as T;
}

let coordinator: CoordinatorProto | undefined;
let worker: WorkerProto | undefined;

export function coordinatorProto(): CoordinatorProto {
  coordinator ??= load<CoordinatorProto>('ttsnap/v1/coordinator.proto');
  return coordinator;
}

export function workerProto(): WorkerProto {
  worker ??= load<WorkerProto>('ttsnap/v1/worker.proto');
  return worker;
}

/** Message size bounds: requests larger than these are refused by the transport (RESOURCE_EXHAUSTED). */
export const MAX_COORDINATOR_MESSAGE = 8 * 1024 * 1024;
export const MAX_WORKER_MESSAGE = 64 * 1024 * 1024;

/** Client and server options bounding message sizes. */
export function channelOptions(maxMessage: number): grpc.ChannelOptions {
  return { 'grpc.max_receive_message_length': maxMessage, 'grpc.max_send_message_length': maxMessage };
}
