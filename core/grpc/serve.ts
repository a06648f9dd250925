import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { plaintextContext, type SecurityContext } from '../security/context.js';
import { channelOptions } from './load.js';
import { bind, shutdown } from './status.js';

/** A started gRPC server with its grpc.health.v1 service (set a service NOT_SERVING to drain it). */
export interface ServingServer {
  readonly server: grpc.Server;
  readonly port: number;
  readonly health: HealthImplementation;
  /** the plaintext health-only server, when `healthAddress` was given */
  readonly healthServer: grpc.Server | null;
  readonly healthPort: number | null;
}

export interface ServeOptions {
  /** TLS credentials and the authoriser every call passes through (default plaintext, nothing authenticated) */
  readonly security?: SecurityContext;
  /**
   * HOST:PORT of a plaintext server that serves grpc.health.v1 and nothing else: kubelet's gRPC probes cannot
   * speak TLS, and health answers carry no data worth protecting.
   */
  readonly healthAddress?: string;
}

/**
 * Starts one ttsnap service plus grpc.health.v1 on HOST:PORT (port 0 = any). Both the coordinator and the
 * worker serve this way, so health, message limits, TLS and authorisation behave the same on each.
 */
export async function serve<H extends grpc.UntypedServiceImplementation>(
  definition: grpc.ServiceDefinition,
  handlers: H,
  serviceName: string,
  maxMessage: number,
  address: string,
  opts: ServeOptions = {},
): Promise<ServingServer> {
  const security = opts.security ?? plaintextContext();
  const server = new grpc.Server({ ...channelOptions(maxMessage), interceptors: [security.authorizer.interceptor()] });
  server.addService(definition, handlers);
  const health = new HealthImplementation({ '': 'SERVING', [serviceName]: 'SERVING' });
  health.addToServer(server);
  const port = await bind(server, address, security.serverCredentials());
  // TLS credentials from a certificate provider become valid one tick after binding (the provider answers
  // asynchronously); until then grpc-js drops connections, so do not report the server started before that.
  await new Promise((resolve) => setImmediate(resolve));
  if (!opts.healthAddress) return { server, port, health, healthServer: null, healthPort: null };
  const healthServer = new grpc.Server(channelOptions(4096));
  health.addToServer(healthServer);
  const healthPort = await bind(healthServer, opts.healthAddress).catch((err: unknown) => {
    server.forceShutdown();
    throw err;
  });
  return { server, port, health, healthServer, healthPort };
}

/** Graceful stop of the service and of its health-only server, with a force timeout (ms). */
export async function stopServing(srv: ServingServer, graceMs: number): Promise<void> {
  await Promise.all([shutdown(srv.server, graceMs), srv.healthServer ? shutdown(srv.healthServer, graceMs) : undefined]);
}
