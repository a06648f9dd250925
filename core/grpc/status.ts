import * as grpc from '@grpc/grpc-js';
import { TtsnapError } from '../errors.js';
import type { MetricsSink } from '../metrics/sink.js';

/** Trailing metadata key naming the error class, so that clients rebuild the right error. */
export const ERROR_KEY = 'ttsnap-error';

/**
 * Translates a thrown error once, at the gRPC edge: each ttsnap error class carries its own status (bad input
 * is INVALID_ARGUMENT with the field named); anything else is INTERNAL. The class name travels in metadata.
 */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const name = err instanceof Error ? err.name : 'Error';
  const code = err instanceof TtsnapError ? grpc.status[err.grpcStatus] : grpc.status.INTERNAL;
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_KEY, name);
  return { code, details: err instanceof Error ? err.message : String(err), metadata };
}

/** The error class name a server attached to a failed call, if any. */
export function errorName(err: grpc.ServiceError): string {
  const v = err.metadata?.get(ERROR_KEY)[0];
  return typeof v === 'string' ? v : '';
}

/**
 * Wraps an async handler as a grpc-js unary handler: errors are translated and counted by method and code
 * (label values are bounded: method names and status codes).
 */
export function unary<Req, Res>(
  method: string,
  metrics: MetricsSink,
  errorKey: 'grpcErrors' | null,
  fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const se = toServiceError(err);
          if (errorKey) metrics.inc(errorKey, { method, code: grpc.status[se.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN' });
          callback(se);
        },
      );
  };
}

/** Binds a server on HOST:PORT (port 0 picks one); resolves with the bound port. */
export function bind(server: grpc.Server, address: string, credentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port))));
}

/** Graceful stop with a force timeout (ms). */
export function shutdown(server: grpc.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
