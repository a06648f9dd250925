import { TtsnapError, type GrpcStatusName } from '../core/errors.js';

/** No such job. */
export class JobNotFoundError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'NOT_FOUND';
  constructor(readonly job: string) {
    super(`no job '${job}'`);
  }
}

/** The coordinator cannot take the request now: draining, or no worker registered yet. */
export class CoordinatorUnavailableError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'UNAVAILABLE';
}

/** The job still runs: deleting it would pull its result from under it (cancel it first). */
export class JobRunningError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'FAILED_PRECONDITION';
  constructor(readonly job: string) {
    super(`job '${job}' is still running; cancel it first, then delete it`);
  }
}
