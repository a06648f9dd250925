import type { NatsAuth } from '../core/bus/nats-auth.js';
import { plaintextContext, type SecurityContext } from '../core/security/context.js';
import type { CloseStep } from './lifecycle.js';

/** What the coordinator and worker processes share about the network they live on. */
export interface SecureProcessOptions {
  /** gRPC TLS and authorisation (default plaintext, nothing authenticated); the process closes it */
  readonly security?: SecurityContext;
  /** NATS credentials and TLS (default none) */
  readonly natsAuth?: NatsAuth;
  /** host of the metrics endpoint (default 127.0.0.1; a pod's IP in the manifests) */
  readonly metricsHost?: string;
  /** HOST:PORT of a plaintext server answering grpc.health.v1 only (kubelet probes cannot speak TLS) */
  readonly healthListen?: string;
}

/** The process's security context, closed (its certificate watcher stopped) as the last shutdown step. */
export function openSecurity(opts: SecureProcessOptions, steps: CloseStep[]): SecurityContext {
  const security = opts.security ?? plaintextContext();
  steps.push(['certificate files', () => security.close()]);
  return security;
}
