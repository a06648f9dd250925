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
