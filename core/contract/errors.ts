import { TtsnapError, type GrpcStatusName } from '../errors.js';

// Errors that cross the wire between coordinator and worker. The worker throws the first three; the gRPC edge
// answers with each class's own status and name, and the coordinator's clients turn them into the last three.

/** The worker does not hold this candidate (never taken, released, or the worker restarted). */
export class CandidateNotFoundError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'NOT_FOUND';
  constructor(readonly key: string) {
    super(`candidate ${key} is not held by this worker`);
  }
}

/** The request contradicts the candidate's state (e.g. a step behind where it is). */
export class CandidateStateError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'FAILED_PRECONDITION';
}

/** The worker is draining or closed and takes no new candidates. */
export class WorkerDrainingError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'UNAVAILABLE';
  constructor() {
    super('the worker is draining and takes no new candidates');
  }
}

/** The worker process is unreachable or refuses work (killed, disconnected, draining). */
export class WorkerLostError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'UNAVAILABLE';
  constructor(
    readonly worker: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`worker ${worker}: ${reason}`, options);
  }
}

/** The worker is draining and refuses new candidates; it still holds (and advances) its own. */
export class WorkerDrainingRefusal extends WorkerLostError {}

/** The worker does not hold a candidate the coordinator placed there (restarted worker): recompute it. */
export class CandidateMissingError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'NOT_FOUND';
}
