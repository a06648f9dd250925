import type { Command } from 'commander';
import { compileNatsAuth, NATS_PASSWORD_ENV, NATS_TOKEN_ENV, type NatsAuth, type NatsAuthFlags } from '../core/bus/nats-auth.js';
import { parseHostPort } from '../core/grpc/address.js';
import { SecurityContext } from '../core/security/context.js';
import { compileSecurity, DEFAULT_TRUST_DOMAIN, describeSecurity, type SecurityFlags } from '../core/security/options.js';
import { parseInteger } from './options.js';

/** Which side of gRPC a command is: servers (coordinator, worker) also dial; clients (search, jobs) only dial. */
export type GrpcSide = 'server' | 'client';

/** --tls-* / --trust-domain (and the side's own flags) on a command. */
export function addTlsOptions(cmd: Command, side: GrpcSide): Command {
  cmd
    .option('--tls-cert <file>', 'PEM certificate of this process; its identity is a URI SAN spiffe://<trust domain>/<client|worker|coordinator>/<name>')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-ca <file>', 'PEM CA that signs the peers: verifies servers, and makes servers require and verify client certificates')
    .option('--trust-domain <name>', 'SPIFFE trust domain of the identities', DEFAULT_TRUST_DOMAIN);
  if (side === 'server') {
    cmd
      .option('--tls-client-auth <mode>', 'require | optional (optional: clients may send a bearer token instead of a certificate)', 'require')
      .option('--client-tokens-file <file>', 'bearer tokens accepted from clients, one "<name> <token>" per line (with --tls-client-auth optional); re-read when it changes')
      .option('--health-listen <host:port>', 'also serve grpc.health.v1 (only) in plaintext here, for kubelet probes');
  } else {
    cmd.option('--token-file <file>', 'bearer token to send instead of a client certificate (needs --tls-ca)');
  }
  return cmd.option('--tls-refresh-ms <ms>', 'how often certificate files (and the client tokens file) are checked for a change', '10000');
}

interface TlsFlagValues extends Omit<SecurityFlags, 'tlsRefreshMs'> {
  readonly tlsRefreshMs?: string;
}

const TLS_FLAGS = ['tlsCert', 'tlsKey', 'tlsCa', 'tlsClientAuth', 'trustDomain', 'tokenFile', 'clientTokensFile', 'tlsRefreshMs'] as const;

/** The TLS flags out of a command's parsed options (which also hold its other flags). */
function tlsFlagsOf(flags: object): TlsFlagValues {
  const out: Record<string, string> = {};
  for (const k of TLS_FLAGS) {
    const v: unknown = Reflect.get(flags, k);
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/**
 * The process's security context from its flags; says in one line on stderr how it authenticates, and logs a
 * rotation that could not be applied (the previous certificates stay in use).
 */
export function securityFrom(options: object, who: string): SecurityContext {
  const flags = tlsFlagsOf(options);
  const sec = compileSecurity({ ...flags, tlsRefreshMs: parseInteger('--tls-refresh-ms', 50, 3_600_000)(flags.tlsRefreshMs ?? '10000') });
  process.stderr.write(`ttsnap ${who}: ${describeSecurity(sec)}\n`);
  return new SecurityContext(sec, (err) => process.stderr.write(`ttsnap ${who}: certificate or tokens files changed but cannot be used yet (${err instanceof Error ? err.message : String(err)}); keeping the previous ones\n`));
}

/** NATS credential flags: secrets only in files or the environment. */
export function addNatsAuthOptions(cmd: Command): Command {
  return cmd
    .option('--nats-creds <file>', 'NATS nkey/JWT credentials file')
    .option('--nats-user <name>', `NATS user (password from --nats-password-file or ${NATS_PASSWORD_ENV})`)
    .option('--nats-password-file <file>', 'file holding the password of --nats-user')
    .option('--nats-token-file <file>', `file holding a NATS token (or ${NATS_TOKEN_ENV})`)
    .option('--nats-tls-ca <file>', 'CA of the NATS server: connect over TLS')
    .option('--nats-tls-cert <file>', 'client certificate for NATS (servers that map certificates to users)')
    .option('--nats-tls-key <file>', 'private key of --nats-tls-cert');
}

export function natsAuthFrom(flags: NatsAuthFlags): NatsAuth {
  return compileNatsAuth(flags);
}

/** --metrics-listen HOST:PORT (default loopback) with --metrics-port P as a shorthand for 127.0.0.1:P. */
export function addMetricsListenOptions(cmd: Command): Command {
  return cmd
    .option('--metrics-listen <host:port>', 'serve Prometheus /metrics here (in a pod: its IP, or 0.0.0.0)')
    .option('--metrics-port <port>', 'shorthand for --metrics-listen 127.0.0.1:PORT');
}

export function metricsListenFrom(flags: { metricsListen?: string; metricsPort?: string }): { host: string; port: number } | null {
  if (flags.metricsListen !== undefined) {
    const hp = parseHostPort(flags.metricsListen, '--metrics-listen', true);
    const at = hp.lastIndexOf(':');
    return { host: hp.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(hp.slice(at + 1)) };
  }
  if (flags.metricsPort !== undefined) return { host: '127.0.0.1', port: parseInteger('--metrics-port', 0, 65_535)(flags.metricsPort) };
  return null;
}
