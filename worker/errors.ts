import { TtsnapError } from '../core/errors.js';

/** The worker does not hold this candidate (never taken, released, or the worker restarted). gRPC NOT_FOUND. */
export class CandidateNotFoundError extends TtsnapError {
  constructor(readonly key: string) {
    super(`candidate ${key} is not held by this worker`);
  }
}

/** The request contradicts the candidate's state (e.g. a step behind where it is). gRPC FAILED_PRECONDITION. */
export class CandidateStateError extends TtsnapError {}

/** The worker is draining or closed and takes no new candidates. gRPC UNAVAILABLE. */
export class WorkerDrainingError extends TtsnapError {
  constructor() {
    super('the worker is draining and takes no new candidates');
  }
}
