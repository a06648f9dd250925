import { accessSync, constants } from 'node:fs';
import { ValidationError } from '../errors.js';
import { TRUST_DOMAIN } from './identity.js';

export type ClientAuth = 'require' | 'optional';

/** The security flags as a command reads them (all optional strings). */
export interface SecurityFlags {
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  readonly tlsCa?: string | undefined;
  readonly tlsClientAuth?: string | undefined;
  readonly trustDomain?: string | undefined;
  /** client: a file holding the bearer token to send */
  readonly tokenFile?: string | undefined;
  /** server: a file of accepted tokens, one `<name> <token>` per line (callers get the client role) */
  readonly clientTokensFile?: string | undefined;
  readonly tlsRefreshMs?: number | undefined;
}

/**
 * How one process speaks gRPC, as a server and as a client (the same certificate serves both ways: it is the
 * process's identity). `tls: null` is plaintext, with every caller one anonymous identity.
 */
export interface TransportSecurity {
  readonly tls: { readonly cert: string | null; readonly key: string | null; readonly ca: string | null } | null;
  readonly clientAuth: ClientAuth;
  readonly trustDomain: string;
  readonly tokenFile: string | null;
  readonly clientTokensFile: string | null;
  /** how often certificate files are checked for a change (ms) */
  readonly refreshMs: number;
}

export const DEFAULT_TRUST_DOMAIN = 'ttsnap';
/** cert-manager renews well before expiry; a check every 10 s picks up a rotation quickly at no cost. */
export const DEFAULT_TLS_REFRESH_MS = 10_000;

export const PLAINTEXT: TransportSecurity = {
  tls: null,
  clientAuth: 'require',
  trustDomain: DEFAULT_TRUST_DOMAIN,
  tokenFile: null,
  clientTokensFile: null,
  refreshMs: DEFAULT_TLS_REFRESH_MS,
};

/** A file flag's value when given and readable; null when not given; a ValidationError naming the flag otherwise. */
export function readableFile(file: string | undefined, flag: string, what = 'a readable PEM file'): string | null {
  if (file === undefined || file === '') return null;
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new ValidationError(flag, `cannot read '${file}'`, what);
  }
  return file;
}

/** Checks the flags together and fills defaults; throws a ValidationError naming the flag. */
export function compileSecurity(flags: SecurityFlags): TransportSecurity {
  const cert = readableFile(flags.tlsCert, '--tls-cert');
  const key = readableFile(flags.tlsKey, '--tls-key');
  const ca = readableFile(flags.tlsCa, '--tls-ca');
  if ((cert === null) !== (key === null)) {
    throw new ValidationError(cert ? '--tls-key' : '--tls-cert', 'missing', 'both --tls-cert and --tls-key, or neither');
  }
  const clientAuth = flags.tlsClientAuth ?? 'require';
  if (clientAuth !== 'require' && clientAuth !== 'optional') throw new ValidationError('--tls-client-auth', `got '${clientAuth}'`, 'require | optional');
  const trustDomain = flags.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  if (!TRUST_DOMAIN.test(trustDomain)) throw new ValidationError('--trust-domain', `got '${trustDomain}'`, 'lowercase letters, digits, dots, dashes (a DNS-like name)');
  const tokenFile = readableFile(flags.tokenFile, '--token-file');
  const clientTokensFile = readableFile(flags.clientTokensFile, '--client-tokens-file');
  const tls = cert || ca ? { cert, key, ca } : null;
  if (tokenFile && !ca) throw new ValidationError('--token-file', 'given without --tls-ca', 'a token only over TLS: give --tls-ca to verify the server');
  if (clientTokensFile && !(ca && cert)) throw new ValidationError('--client-tokens-file', 'given without --tls-cert/--tls-key/--tls-ca', 'tokens only over TLS with a CA');
  const refreshMs = flags.tlsRefreshMs ?? DEFAULT_TLS_REFRESH_MS;
  if (!Number.isInteger(refreshMs) || refreshMs < 50 || refreshMs > 3_600_000) throw new ValidationError('--tls-refresh-ms', `got ${refreshMs}`, 'an integer in [50, 3600000]');
  return { tls, clientAuth, trustDomain, tokenFile, clientTokensFile, refreshMs };
}

/** The one line a process logs at start about how it authenticates. */
export function describeSecurity(sec: TransportSecurity): string {
  if (!sec.tls) return 'gRPC in plaintext: nothing is authenticated (give --tls-cert, --tls-key and --tls-ca for mutual TLS)';
  if (!sec.tls.ca) return 'gRPC over TLS without --tls-ca: peers are not authenticated, every caller may call every method';
  const tokens = sec.clientTokensFile ? ', bearer tokens accepted for clients' : '';
  return `gRPC over mutual TLS (client certificates ${sec.clientAuth === 'require' ? 'required' : 'optional'}${tokens}), trust domain ${sec.trustDomain}`;
}
