import type protobuf from 'protobufjs';
import { protoRoot } from '../grpc/load.js';
import { protoTypes } from '../grpc/direct-encode.js';
import type { ScoreBatch, ScoreBatch__Output } from '../generated/ttsnap/v1/ScoreBatch.js';

let type: protobuf.Type | undefined;

/** bus.proto's ScoreBatch, loaded on first use (with the packed-list encoders every proto type here gets). */
function scoreBatchType(): protobuf.Type {
  type ??= protoTypes(protoRoot(), 'ttsnap/v1/bus.proto').lookupType('ttsnap.v1.ScoreBatch');
  return type;
}

/** The payload of one score message (bus.proto's ScoreBatch). */
export function encodeScoreBatch(batch: ScoreBatch): Uint8Array {
  return scoreBatchType().encode(batch).finish();
}

/**
 * Parses a ScoreBatch payload; throws on bytes that are not one. The columns are not checked here (the caller
 * checks that they are of equal length and in range). protobufjs decodes into the fields as bus.proto names them
 * (keepCase), each repeated field an array, empty when absent: the generated output type.
 */
export function decodeScoreBatch(data: Uint8Array): ScoreBatch__Output {
  return scoreBatchType().decode(data) as unknown as ScoreBatch__Output;
}
