import { readFileSync } from 'node:fs';
import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { reasonOf } from '../security/diagnose.js';
import type { NatsAuth } from './nats-auth.js';

/**
 * Why a NATS server refuses our TLS, found by one probe with the same files: nats.js swallows the server's TLS
 * alert (an unknown CA, a missing client certificate) and reports only a connect TIMEOUT, which a user cannot act
 * on. The probe reads the server's plaintext INFO line, upgrades to TLS as a NATS client does, and waits up to
 * `timeoutMs` for an alert. Resolves with the reason (flags named as the NATS ones), or null when TLS is not the
 * problem (or the server is unreachable).
 */
export function natsTlsRefusal(url: string, tls: NonNullable<NatsAuth['tls']>, timeoutMs = 2000): Promise<string | null> {
  const first = new URL((url.split(',')[0] ?? '').trim().replace(/^(nats|tls):\/\//, 'http://'));
  const host = first.hostname.replace(/^\[|\]$/g, '');
  const port = Number(first.port || 4222);
  const files = { ca: readFileSync(tls.ca), ...(tls.cert && tls.key ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key) } : {}) };
  return new Promise((resolve) => {
    let settled = false;
    let handshaken = false;
    const raw = tcpConnect({ host, port });
    const finish = (found: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.destroy();
      // without a certificate of ours, a refusal of "our certificate" (Go answers a missing one with
      // bad_certificate) means the server wants one
      const reason = found !== null && !files.cert && /our certificate/.test(found) ? 'the server requires a client certificate: give --tls-cert and --tls-key' : found;
      resolve(reason === null ? null : reason.replaceAll('--tls-', '--nats-tls-'));
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    raw.on('error', () => finish(null));
    let info = '';
    const onInfo = (chunk: Buffer): void => {
      info += chunk.toString('latin1');
      if (!info.includes('\r\n')) return;
      raw.off('data', onInfo);
      const secure = tlsConnect({ socket: raw, ...files, rejectUnauthorized: true, ...(isIP(host) ? {} : { servername: host }) });
      secure.on('secureConnect', () => {
        handshaken = true;
        secure.resume(); // TLS 1.3: the server judges our certificate after the handshake and answers with an alert
      });
      secure.on('error', (err: Error & { code?: string }) => finish(reasonOf(err) ?? (handshaken ? `the server closed the TLS connection: ${err.message.trim()}` : null)));
      secure.on('close', () => finish(handshaken ? 'the server closed the connection after the TLS handshake: it did not accept our certificate' : null));
    };
    raw.on('data', onInfo);
  });
}
