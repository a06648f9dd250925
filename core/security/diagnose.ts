import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { SecurityContext } from './context.js';
import { RefusedError } from './errors.js';

/** What a TLS alert or verification code means, in words a user can act on. */
const REASONS: readonly [RegExp, string][] = [
  [/wrong version number|WRONG_VERSION_NUMBER|packet length too long/i, 'the server speaks plaintext and this client TLS: drop --tls-* or give the server its certificates'],
  [/alert certificate required/i, 'the server requires a client certificate: give --tls-cert and --tls-key'],
  [/alert certificate expired/i, 'the server refused our certificate: it has expired'],
  [/alert unknown ca|alert bad certificate|alert certificate unknown/i, 'the server refused our certificate: it is not signed by a CA the server trusts'],
  [/CERT_HAS_EXPIRED/, "the server's certificate has expired"],
  [/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_SIGNATURE_FAILURE/, "the server's certificate is not signed by the CA given in --tls-ca"],
  [/ALTNAME_INVALID|Hostname\/IP does not match/i, "the server's certificate does not name the address dialed"],
];

/** The reason of a TLS error in words (REASONS), or null when it is not one of the known refusals. */
export function reasonOf(err: Error & { code?: string }): string | null {
  const text = `${err.code ?? ''} ${err.message}`;
  for (const [re, reason] of REASONS) if (re.test(text)) return reason;
  return null;
}

/** When our own certificate is outside its validity, say so: it explains a refusal better than the alert. */
function ownCertificateProblem(ctx: SecurityContext): string | null {
  const pem = ctx.certs?.certificates.cert;
  if (!pem) return null;
  const c = new X509Certificate(pem);
  const now = Date.now();
  if (now > Date.parse(c.validTo)) return `our certificate expired on ${c.validTo}`;
  if (now < Date.parse(c.validFrom)) return `our certificate is not valid before ${c.validFrom}`;
  return null;
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/**
 * After a call failed with UNAVAILABLE, finds out whether the cause is TLS (the server refused us, or we it):
 * one TLS probe with the same files as the channel. Resolves with the reason, or null when the problem is
 * something else (the server is down or unreachable). Never retries and never takes longer than `timeoutMs`.
 */
export function diagnoseTls(address: string, ctx: SecurityContext, timeoutMs = 2000): Promise<string | null> {
  const { host, port } = hostPort(address);
  const files = ctx.certs?.certificates;
  const opts: ConnectionOptions = {
    host,
    port,
    ALPNProtocols: ['h2'],
    ...(isIP(host) ? {} : { servername: host }),
    ...(files ? { ca: files.ca ?? undefined, cert: files.cert ?? undefined, key: files.key ?? undefined, rejectUnauthorized: true } : { rejectUnauthorized: false }),
  };
  return new Promise((resolve) => {
    let handshaken = false;
    const socket = connect(opts);
    const finish = (reason: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    // After the handshake the server may still refuse our certificate with an alert (TLS 1.3): wait a moment for it.
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('secureConnect', () => {
      handshaken = true;
      if (!files) finish('the server requires TLS and this client speaks plaintext: give --tls-ca (and --tls-cert/--tls-key for mutual TLS)');
      else socket.resume();
    });
    socket.on('error', (err: Error & { code?: string }) => {
      if (!files) return finish(null);
      const reason = reasonOf(err);
      const own = ownCertificateProblem(ctx);
      finish(reason ? (own && /our certificate/.test(reason) ? `${reason} (${own})` : reason) : handshaken ? `the server closed the connection after the TLS handshake: ${err.message.trim()}` : null);
    });
    socket.on('close', () => {
      if (handshaken && files) finish(`the server closed the connection after the TLS handshake: it did not accept our certificate (${ownCertificateProblem(ctx) ?? 'not signed by a CA it trusts, or not valid now'})`);
      else finish(null);
    });
  });
}

/** gRPC codes that are a security refusal by themselves. */
const REFUSED_CODES = new Set([grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED]);

/**
 * Translates a failed call into a RefusedError when security is the cause, else null. UNAVAILABLE before any
 * connection is diagnosed with one TLS probe, so that a refusal fails at once instead of being retried as an outage.
 */
export async function refusalOf(err: grpc.ServiceError, address: string, ctx: SecurityContext): Promise<RefusedError | null> {
  if (REFUSED_CODES.has(err.code)) return new RefusedError(address, `${grpc.status[err.code]}: ${err.details}`, { cause: err });
  if (err.code !== grpc.status.UNAVAILABLE || !/No connection established/.test(err.details)) return null;
  const reason = await diagnoseTls(address, ctx);
  return reason ? new RefusedError(address, reason, { cause: err }) : null;
}
