import { TtsnapError } from '../core/errors.js';

/** No such job (gRPC NOT_FOUND). */
export class JobNotFoundError extends TtsnapError {
  constructor(readonly job: string) {
    super(`no job '${job}'`);
  }
}

/** The coordinator cannot take the request now: draining, or no worker registered yet (gRPC UNAVAILABLE). */
export class CoordinatorUnavailableError extends TtsnapError {}
