import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from 'nats';
import { BadFileError, ValidationError } from '../errors.js';
import { readableFile } from '../security/options.js';

/** NATS credential flags as a command reads them. Secrets come from files (or the environment), never argv. */
export interface NatsAuthFlags {
  /** nkey/JWT .creds file */
  readonly natsCreds?: string | undefined;
  readonly natsUser?: string | undefined;
  readonly natsPasswordFile?: string | undefined;
  readonly natsTokenFile?: string | undefined;
  /** CA that signed the NATS server's certificate: turns TLS on */
  readonly natsTlsCa?: string | undefined;
  /** optional client certificate for NATS (servers that map certificates to users) */
  readonly natsTlsCert?: string | undefined;
  readonly natsTlsKey?: string | undefined;
}

/** How to authenticate to NATS: one method at most, plus optional TLS. */
export interface NatsAuth {
  readonly method: { readonly kind: 'none' } | { readonly kind: 'creds'; readonly file: string } | { readonly kind: 'user'; readonly user: string; readonly passwordFile: string | null } | { readonly kind: 'token'; readonly file: string | null };
  readonly tls: { readonly ca: string; readonly cert: string | null; readonly key: string | null } | null;
}

export const NO_NATS_AUTH: NatsAuth = { method: { kind: 'none' }, tls: null };

/** Environment variables read when the matching file flag is absent (a Kubernetes secret as env). */
export const NATS_PASSWORD_ENV = 'TTSNAP_NATS_PASSWORD';
export const NATS_TOKEN_ENV = 'TTSNAP_NATS_TOKEN';

const readable = (file: string | undefined, flag: string): string | null => readableFile(file, flag, 'a readable file');

/** Checks the NATS flags together; throws a ValidationError naming the flag. */
export function compileNatsAuth(flags: NatsAuthFlags, env: NodeJS.ProcessEnv = process.env): NatsAuth {
  const creds = readable(flags.natsCreds, '--nats-creds');
  const passwordFile = readable(flags.natsPasswordFile, '--nats-password-file');
  const tokenFile = readable(flags.natsTokenFile, '--nats-token-file');
  const user = flags.natsUser;
  const token = tokenFile !== null || (env[NATS_TOKEN_ENV] ?? '') !== '';
  const chosen = [creds !== null && '--nats-creds', user !== undefined && '--nats-user', token && (tokenFile ? '--nats-token-file' : NATS_TOKEN_ENV)].filter(Boolean);
  if (chosen.length > 1) throw new ValidationError(String(chosen[1]), `given with ${String(chosen[0])}`, 'one of --nats-creds, --nats-user (with --nats-password-file), --nats-token-file');
  if (passwordFile && user === undefined) throw new ValidationError('--nats-password-file', 'given without --nats-user', '--nats-user NAME with --nats-password-file FILE');
  if (user !== undefined && !/^[A-Za-z0-9_.@-]{1,128}$/.test(user)) throw new ValidationError('--nats-user', `got '${user.slice(0, 40)}'`, '1-128 characters [A-Za-z0-9_.@-]');
  if (user !== undefined && !passwordFile && (env[NATS_PASSWORD_ENV] ?? '') === '') {
    throw new ValidationError('--nats-password-file', 'missing', `a file holding the password of --nats-user (or ${NATS_PASSWORD_ENV} in the environment)`);
  }
  const ca = readable(flags.natsTlsCa, '--nats-tls-ca');
  const cert = readable(flags.natsTlsCert, '--nats-tls-cert');
  const key = readable(flags.natsTlsKey, '--nats-tls-key');
  if ((cert === null) !== (key === null)) throw new ValidationError(cert ? '--nats-tls-key' : '--nats-tls-cert', 'missing', 'both --nats-tls-cert and --nats-tls-key, or neither');
  if (cert && !ca) throw new ValidationError('--nats-tls-ca', 'missing', 'the CA of the NATS server, to use a client certificate');
  const method: NatsAuth['method'] = creds ? { kind: 'creds', file: creds } : user !== undefined ? { kind: 'user', user, passwordFile } : token ? { kind: 'token', file: tokenFile } : { kind: 'none' };
  return { method, tls: ca ? { ca, cert, key } : null };
}

function secret(file: string | null, envName: string, env: NodeJS.ProcessEnv): string {
  if (file === null) return env[envName] ?? '';
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new BadFileError(file, 'cannot read it', { cause: err });
  }
}

const CREDS_JWT = /-{3,}BEGIN NATS USER JWT-{3,}\s*\n\s*[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\s*\n/;
const CREDS_SEED = /-{3,}BEGIN USER NKEY SEED-{3,}\s*\n\s*SU[A-Z2-7]{56}\s*\n/;

/** The contents of a .creds file, checked for its two blocks (nats.js would only say BAD_CREDS at connect). */
function readCreds(file: string): Uint8Array {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new BadFileError(file, 'cannot read it', { cause: err });
  }
  const text = data.toString('utf8');
  if (!CREDS_JWT.test(text) || !CREDS_SEED.test(text)) {
    throw new BadFileError(file, "not a NATS .creds file: expected a '-----BEGIN NATS USER JWT-----' block holding a JWT and a '-----BEGIN USER NKEY SEED-----' block holding a user seed (SU...)");
  }
  return data;
}

/** nats.js connection options for `auth` (files are read here, at connect time, so a rotated secret is used on restart). */
export function natsConnectionOptions(auth: NatsAuth, env: NodeJS.ProcessEnv = process.env): Partial<ConnectionOptions> {
  const m = auth.method;
  const creds: Partial<ConnectionOptions> =
    m.kind === 'creds'
      ? { authenticator: credsAuthenticator(readCreds(m.file)) }
      : m.kind === 'user'
        ? { user: m.user, pass: secret(m.passwordFile, NATS_PASSWORD_ENV, env) }
        : m.kind === 'token'
          ? { token: secret(m.file, NATS_TOKEN_ENV, env) }
          : {};
  const tls = auth.tls ? { tls: { caFile: auth.tls.ca, ...(auth.tls.cert && auth.tls.key ? { certFile: auth.tls.cert, keyFile: auth.tls.key } : {}) } } : {};
  return { ...creds, ...tls };
}

/** Why a first connect failed, when the server refused us (credentials, TLS); null for anything else. */
export function natsRefusalReason(auth: NatsAuth, err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  const text = err instanceof Error ? err.message : String(err);
  if (code === 'AUTHORIZATION_VIOLATION' || /authorization violation|authentication/i.test(text)) {
    // a server that maps client certificates to users (tls verify_and_map) refuses one that maps to no user
    if (auth.method.kind === 'none' && auth.tls?.cert) return "authorization violation (the client certificate maps to no NATS user; the server's auth.conf names each role's certificate)";
    const have = auth.method.kind === 'none' ? 'no credentials were given' : `the ${auth.method.kind} credentials were not accepted`;
    return `authorization violation (${have}; give --nats-creds, --nats-user with --nats-password-file, or --nats-token-file)`;
  }
  if (/tls|certificate|self.signed/i.test(text)) return `TLS: ${text} (check --nats-tls-ca and the server's certificate)`;
  return null;
}
