import type { NatsAuth, NatsAuthFlags } from '../core/bus/nats-auth.js';
import { parseHostPort } from '../core/grpc/address.js';
import type { SecurityContext } from '../core/security/context.js';
import { exitSoon } from './exit-soon.js';
import { metricsListenFrom, natsAuthFrom, securityFrom } from './security-options.js';

/** The flags the long-running processes (`coordinator`, `worker`) share. */
export interface ServiceFlags extends NatsAuthFlags {
  metricsPort?: string;
  metricsListen?: string;
  healthListen?: string;
}

/** What a long-running process takes from its shared flags: where metrics and health listen, NATS credentials, TLS. */
export interface ServiceOptions {
  metricsPort?: number;
  metricsHost?: string;
  healthListen?: string;
  natsAuth: NatsAuth;
  security: SecurityContext;
}

/** Reads the shared flags (the security context last: it says on stderr how the process authenticates). */
export function serviceOptions(flags: ServiceFlags, who: 'coordinator' | 'worker'): ServiceOptions {
  const metricsAt = metricsListenFrom(flags);
  const healthListen = flags.healthListen === undefined ? undefined : parseHostPort(flags.healthListen, '--health-listen', true);
  const natsAuth = natsAuthFrom(flags);
  return {
    ...(metricsAt ? { metricsPort: metricsAt.port, metricsHost: metricsAt.host } : {}),
    ...(healthListen ? { healthListen } : {}),
    natsAuth,
    security: securityFrom(flags, who),
  };
}

/**
 * Starts a long-running process and runs it until it stops; its security context (which watches certificate
 * files) is closed when it cannot start, and the process exits soon after it stopped should a handle linger.
 */
export async function runService<P extends { run(): Promise<void> }>(who: 'coordinator' | 'worker', shared: ServiceOptions, start: () => Promise<P>): Promise<P> {
  const proc = await start().catch((err: unknown) => {
    shared.security.close();
    throw err;
  });
  await proc.run();
  exitSoon(who);
  return proc;
}
