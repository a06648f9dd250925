import { TtsnapError, type GrpcStatusName } from '../errors.js';

/**
 * Schema version of the gRPC contract between coordinator and workers, sent with every RegisterWorker. Raise it
 * when a side comes to need something the other may lack; keep MIN_WORKER_PROTOCOL at the oldest worker version
 * the coordinator still works with. History: 1 = no version on the wire (RegisterWorker.protocol 0); 2 =
 * Worker.Holdings and coordinator epochs (a restarted coordinator keeps what workers hold), backend pools; 3 =
 * scores on NATS as bus.proto's ScoreBatch (a coordinator of protocol 2 reads only the JSON form; this one reads both).
 */
export const PROTOCOL_VERSION: number = 3;
export const MIN_WORKER_PROTOCOL: number = 2;

/** What a worker that sends no version speaks. */
const UNVERSIONED = 1;

/** A worker speaks a protocol this coordinator cannot work with (FAILED_PRECONDITION: retrying cannot help). */
export class ProtocolVersionError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'FAILED_PRECONDITION';
}

/** Throws ProtocolVersionError, naming both versions, unless the worker's version is one this coordinator accepts. */
export function checkWorkerProtocol(sent: number): void {
  const v = sent || UNVERSIONED;
  if (v >= MIN_WORKER_PROTOCOL && v <= PROTOCOL_VERSION) return;
  const range = MIN_WORKER_PROTOCOL === PROTOCOL_VERSION ? `${PROTOCOL_VERSION}` : `${MIN_WORKER_PROTOCOL} to ${PROTOCOL_VERSION}`;
  const fix = v < MIN_WORKER_PROTOCOL ? 'upgrade the worker' : 'upgrade the coordinator first (README: upgrade order)';
  throw new ProtocolVersionError(`worker protocol ${v}${sent ? '' : ' (it sends no version)'} is incompatible with this coordinator's protocol ${PROTOCOL_VERSION} (it accepts workers of protocol ${range}): ${fix}`);
}
