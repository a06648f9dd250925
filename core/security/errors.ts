import { TtsnapError, type GrpcStatusName } from '../errors.js';

/** The caller is known but its role may not call `method` (gRPC PERMISSION_DENIED). */
export class PermissionDeniedError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'PERMISSION_DENIED';
  constructor(
    readonly method: string,
    reason: string,
  ) {
    super(`${method}: permission denied: ${reason}`);
  }
}

/** The caller could not be identified (no certificate, unknown token, wrong trust domain): gRPC UNAUTHENTICATED. */
export class UnauthenticatedError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'UNAUTHENTICATED';
}

/**
 * A connection or call refused for security reasons (TLS handshake, certificate, authorisation). Not retried:
 * trying again with the same certificate gives the same answer. The CLI exits with the 'refused' code.
 */
export class RefusedError extends TtsnapError {
  constructor(
    readonly address: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${address} refused: ${reason}`, options);
  }
}
