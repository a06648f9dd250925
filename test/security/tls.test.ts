import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServingServer } from '../../core/grpc/serve.js';
import { SecurityContext } from '../../core/security/context.js';
import { refusalOf } from '../../core/security/diagnose.js';
import { compileSecurity, type SecurityFlags } from '../../core/security/options.js';
import { loopbackLeaf } from './certs.js';
import { makePki, tlsFlags, type Pki } from './pki.js';
import { callOnce, serveStub, stubClient } from './stub-coordinator.js';

let pki: Pki;
const open: { close(): void }[] = [];
const servers: ServingServer[] = [];

function context(flags: SecurityFlags): SecurityContext {
  const ctx = new SecurityContext(compileSecurity(flags));
  open.push(ctx);
  return ctx;
}

async function start(flags: SecurityFlags, callers: string[] = []): Promise<number> {
  const srv = await serveStub(context(flags), callers);
  servers.push(srv);
  return srv.port;
}

/** Calls ListJobs (or `method`) once and returns the refusal message, or 'ok'. */
async function attempt(port: number, flags: SecurityFlags, method: Parameters<typeof callOnce>[1] = 'ListJobs', req: object = {}): Promise<string> {
  const ctx = context(flags);
  const client = stubClient(port, ctx);
  try {
    const err = await callOnce(client, method, req);
    if (!err) return 'ok';
    const refusal = await refusalOf(err, `127.0.0.1:${port}`, ctx);
    return refusal ? refusal.message : `not a refusal: ${grpc.status[err.code]} ${err.details}`;
  } finally {
    client.close();
  }
}

beforeAll(() => {
  pki = makePki();
});
afterEach(() => {
  for (const s of servers.splice(0)) s.server.forceShutdown();
  for (const c of open.splice(0)) c.close();
});
afterAll(() => pki.cleanup());

describe('mutual TLS on a gRPC server', () => {
  it('accepts a client certificate of the cluster CA and hands the handler its SPIFFE identity', async () => {
    const callers: string[] = [];
    const port = await start(tlsFlags(pki, pki.coordinator), callers);
    expect(await attempt(port, tlsFlags(pki, pki.client))).toBe('ok');
    expect(callers).toEqual(['client/alice']);
  });

  it('refuses a plaintext client, saying that the server requires TLS', async () => {
    const port = await start(tlsFlags(pki, pki.coordinator));
    expect(await attempt(port, {})).toBe(`127.0.0.1:${port} refused: the server requires TLS and this client speaks plaintext: give --tls-ca (and --tls-cert/--tls-key for mutual TLS)`);
  });

  it('refuses a client without a certificate, a certificate of another CA, and an expired certificate', async () => {
    const port = await start(tlsFlags(pki, pki.coordinator));
    expect(await attempt(port, tlsFlags(pki, null))).toMatch(/refused: the server requires a client certificate: give --tls-cert and --tls-key$/);
    expect(await attempt(port, { tlsCert: pki.otherCaClient.cert, tlsKey: pki.otherCaClient.key, tlsCa: pki.ca.cert })).toMatch(
      /refused: the server (refused our certificate: it is not signed by a CA the server trusts|closed the connection after the TLS handshake: it did not accept our certificate \(not signed by a CA it trusts)/,
    );
    expect(await attempt(port, tlsFlags(pki, pki.expiredClient))).toMatch(/refused: .*(certificate expired|our certificate expired on Jan {1,2}2 00:00:00 2020 GMT)/);
  });

  it('a client that does not trust the server, and a TLS client of a plaintext server, fail with the reason', async () => {
    const tlsPort = await start(tlsFlags(pki, pki.coordinator));
    expect(await attempt(tlsPort, { tlsCert: pki.otherCaClient.cert, tlsKey: pki.otherCaClient.key, tlsCa: pki.otherCa.cert })).toMatch(
      /refused: the server's certificate is not signed by the CA given in --tls-ca$/,
    );
    const plainPort = await start({});
    expect(await attempt(plainPort, tlsFlags(pki, pki.client))).toMatch(/refused: the server speaks plaintext and this client TLS/);
  });

  it('a server that is down is not a refusal (the caller may retry it as an outage)', async () => {
    const port = await start({});
    servers.splice(0).forEach((s) => s.server.forceShutdown());
    expect(await attempt(port, tlsFlags(pki, pki.client))).toMatch(/^not a refusal: UNAVAILABLE/);
  });

  it('a certificate without a SPIFFE identity of the trust domain is UNAUTHENTICATED, naming what is allowed', async () => {
    const port = await start(tlsFlags(pki, pki.coordinator));
    expect(await attempt(port, tlsFlags(pki, pki.noSpiffeClient))).toBe(
      `127.0.0.1:${port} refused: UNAUTHENTICATED: the certificate carries no URI SAN; allowed: a URI SAN spiffe://ttsnap/<client|worker|coordinator>/<name>`,
    );
    const other = await start({ ...tlsFlags(pki, pki.coordinator), trustDomain: 'elsewhere' });
    expect(await attempt(other, tlsFlags(pki, pki.client))).toMatch(/UNAUTHENTICATED: the certificate carries spiffe:\/\/ttsnap\/client\/alice; allowed: a URI SAN spiffe:\/\/elsewhere\//);
  });
});

describe('the role table', () => {
  it('a client certificate calling RegisterWorker gets PERMISSION_DENIED naming the method', async () => {
    const port = await start(tlsFlags(pki, pki.coordinator));
    expect(await attempt(port, tlsFlags(pki, pki.client), 'RegisterWorker', { worker: 'alice', address: '10.0.0.1:1' })).toBe(
      `127.0.0.1:${port} refused: PERMISSION_DENIED: RegisterWorker: permission denied: client 'alice' may not call it; allowed: worker`,
    );
  });

  it('a worker certificate calling CancelJob gets PERMISSION_DENIED; registering under another id too', async () => {
    const port = await start(tlsFlags(pki, pki.coordinator));
    const w1 = tlsFlags(pki, pki.workers[0]);
    expect(await attempt(port, w1, 'CancelJob', { job: 'j-1' })).toMatch(/PERMISSION_DENIED: CancelJob: permission denied: worker 'w1' may not call it; allowed: client$/);
    expect(await attempt(port, w1, 'RegisterWorker', { worker: 'w2' })).toMatch(/PERMISSION_DENIED: RegisterWorker: permission denied: worker 'w1' may only act for itself, not for worker 'w2'$/);
    expect(await attempt(port, w1, 'RegisterWorker', { worker: 'w1' })).toBe('ok');
  });

  it('without --tls-ca every caller is one anonymous identity that may call everything (TLS still encrypts)', async () => {
    const callers: string[] = [];
    const port = await start({ tlsCert: pki.coordinator.cert, tlsKey: pki.coordinator.key }, callers);
    // The client verifies the server with the CA; the server asks nothing of the client.
    expect(await attempt(port, { tlsCa: pki.ca.cert, tlsCert: pki.client.cert, tlsKey: pki.client.key }, 'RegisterWorker', { worker: 'x' })).toBe('ok');
    const plain = await start({}, callers);
    expect(await attempt(plain, {}, 'CancelJob', { job: 'j' })).toBe('ok');
    expect(callers).toEqual(['anonymous/anonymous', 'anonymous/anonymous']);
  });
});

describe('bearer tokens with --tls-client-auth optional', () => {
  it('a known token is a client; an unknown one is UNAUTHENTICATED; a token cannot register a worker', async () => {
    const tokens = join(pki.dir, 'tokens.txt');
    writeFileSync(tokens, '# name token\nci-bot 0123456789abcdef0123\n');
    const good = join(pki.dir, 'good.token');
    const bad = join(pki.dir, 'bad.token');
    writeFileSync(good, '0123456789abcdef0123\n');
    writeFileSync(bad, 'fedcba9876543210fedc\n');
    const callers: string[] = [];
    const port = await start({ ...tlsFlags(pki, pki.coordinator), tlsClientAuth: 'optional', clientTokensFile: tokens }, callers);
    expect(await attempt(port, { tlsCa: pki.ca.cert, tokenFile: good })).toBe('ok');
    expect(callers).toEqual(['client/ci-bot']);
    expect(await attempt(port, { tlsCa: pki.ca.cert, tokenFile: bad })).toMatch(/UNAUTHENTICATED: the bearer token is not known to this server$/);
    expect(await attempt(port, { tlsCa: pki.ca.cert, tokenFile: good }, 'RegisterWorker', { worker: 'ci-bot' })).toMatch(/PERMISSION_DENIED: RegisterWorker/);
    // Optional client certificates are still verified: TLS lets a bad one through, but it identifies nobody.
    const noValid = /UNAUTHENTICATED: no valid client certificate \(none, expired, or not signed by the CA\) and no bearer token; allowed: /;
    expect(await attempt(port, { tlsCert: pki.otherCaClient.cert, tlsKey: pki.otherCaClient.key, tlsCa: pki.ca.cert })).toMatch(noValid);
    expect(await attempt(port, tlsFlags(pki, pki.expiredClient))).toMatch(noValid);
    expect(await attempt(port, tlsFlags(pki, pki.client))).toBe('ok');
  });
});

describe('the client tokens file is re-read when it changes', () => {
  it('a revoked token is refused and an added one accepted without a restart; a broken file keeps the last good table', async () => {
    const tokens = join(pki.dir, 'tokens-reload.txt');
    const [a, b] = [join(pki.dir, 'a.token'), join(pki.dir, 'b.token')];
    writeFileSync(tokens, 'ci-bot 0123456789abcdef0123\n');
    writeFileSync(a, '0123456789abcdef0123\n');
    writeFileSync(b, 'bbbbbbbbbbbbbbbbbbbbbbbb\n');
    const errors: string[] = [];
    // refreshed by hand (check()) rather than by the timer, so the test does not depend on timing
    const server = new SecurityContext(compileSecurity({ ...tlsFlags(pki, pki.coordinator), tlsClientAuth: 'optional', clientTokensFile: tokens, tlsRefreshMs: 3_600_000 }), (e) => errors.push(String(e)));
    open.push(server);
    const callers: string[] = [];
    const srv = await serveStub(server, callers);
    servers.push(srv);
    const client = (file: string) => attempt(srv.port, { tlsCa: pki.ca.cert, tokenFile: file });
    const unknown = /UNAUTHENTICATED: the bearer token is not known to this server$/;
    expect([await client(a), await client(b)]).toEqual(['ok', expect.stringMatching(unknown)]);

    writeFileSync(tokens, '# ci-bot revoked\nrelease-bot bbbbbbbbbbbbbbbbbbbbbbbb\n');
    server.tokens?.check();
    expect([await client(a), await client(b)]).toEqual([expect.stringMatching(unknown), 'ok']);
    expect(callers).toEqual(['client/ci-bot', 'client/release-bot']);
    expect(server.tokens?.reloads).toBe(1);

    writeFileSync(tokens, 'release-bot short\n');
    server.tokens?.check();
    expect(errors).toEqual([expect.stringContaining("line 1: expected '<name> <token>'")]);
    expect(await client(b)).toBe('ok');
    expect(server.tokens?.reloads).toBe(1);
  });

  it('the timer picks up a change by itself within a few refresh periods', async () => {
    const tokens = join(pki.dir, 'tokens-timer.txt');
    const c = join(pki.dir, 'c.token');
    writeFileSync(tokens, 'ci-bot 0123456789abcdef0123\n');
    writeFileSync(c, 'cccccccccccccccccccccccc\n');
    const server = context({ ...tlsFlags(pki, pki.coordinator), tlsClientAuth: 'optional', clientTokensFile: tokens, tlsRefreshMs: 50 });
    writeFileSync(tokens, 'later-bot cccccccccccccccccccccccc\n');
    for (let i = 0; i < 200 && server.tokens?.reloads === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(server.tokens?.reloads).toBe(1);
    expect(server.tokens?.lookup('cccccccccccccccccccccccc')).toEqual({ role: 'client', name: 'later-bot', via: 'token' });
  });
});

/** The certificate a fresh TLS connection to the port is shown. */
function servedCertificate(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ca: undefined, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const raw = s.getPeerCertificate().raw;
      s.destroy();
      resolve(new X509Certificate(raw).serialNumber);
    });
    s.on('error', reject);
  });
}

describe('certificate rotation', () => {
  it('new connections get the new certificate once the files change; an existing channel keeps working', async () => {
    const dir = pki.dir;
    const cert = join(dir, 'rot.crt');
    const key = join(dir, 'rot.key');
    const first = loopbackLeaf(pki.ca, 'rot-a', 'spiffe://ttsnap/coordinator/rot');
    const second = loopbackLeaf(pki.ca, 'rot-b', 'spiffe://ttsnap/coordinator/rot');
    copyFileSync(first.cert, cert);
    copyFileSync(first.key, key);
    const port = await start({ tlsCert: cert, tlsKey: key, tlsCa: pki.ca.cert, tlsRefreshMs: 100 });
    const before = await servedCertificate(port);
    expect(before).toBe(new X509Certificate(await import('node:fs').then((f) => f.readFileSync(first.cert))).serialNumber);
    const clientCtx = context(tlsFlags(pki, pki.client));
    const client = stubClient(port, clientCtx);
    expect(await callOnce(client, 'ListJobs', {})).toBeNull();
    // Half-way (new certificate, old key): the server keeps the old pair rather than breaking.
    copyFileSync(second.cert, cert);
    await new Promise((r) => setTimeout(r, 400));
    expect(await servedCertificate(port)).toBe(before);
    copyFileSync(second.key, key);
    const want = new X509Certificate(await import('node:fs').then((f) => f.readFileSync(second.cert))).serialNumber;
    for (let i = 0; i < 50 && (await servedCertificate(port)) !== want; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await servedCertificate(port)).toBe(want);
    expect(await callOnce(client, 'ListJobs', {})).toBeNull();
    client.close();
    expect(await attempt(port, tlsFlags(pki, pki.client))).toBe('ok');
  });
});
