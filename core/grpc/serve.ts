import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { channelOptions } from './load.js';
import { bind } from './status.js';

/** A started gRPC server with its grpc.health.v1 service (set a service NOT_SERVING to drain it). */
export interface ServingServer {
  readonly server: grpc.Server;
  readonly port: number;
  readonly health: HealthImplementation;
}

/**
 * Starts one ttsnap service plus grpc.health.v1 on HOST:PORT (port 0 = any). Both the coordinator and the
 * worker serve this way, so health, message limits and binding behave the same on each.
 */
export async function serve<H extends grpc.UntypedServiceImplementation>(
  definition: grpc.ServiceDefinition,
  handlers: H,
  serviceName: string,
  maxMessage: number,
  address: string,
): Promise<ServingServer> {
  const server = new grpc.Server(channelOptions(maxMessage));
  server.addService(definition, handlers);
  const health = new HealthImplementation({ '': 'SERVING', [serviceName]: 'SERVING' });
  health.addToServer(server);
  const port = await bind(server, address);
  return { server, port, health };
}
