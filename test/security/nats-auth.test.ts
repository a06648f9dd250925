import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNatsAuth } from '../../core/bus/nats-auth.js';
import { NatsScoreBus } from '../../core/bus/nats.js';
import type { Score } from '../../core/bus/score-bus.js';
import { RefusedError } from '../../core/security/errors.js';
import { loopbackLeaf } from './certs.js';
import { startSecureNats, type SecureNats } from './nats-server.js';
import { makePki, type Pki } from './pki.js';

const PREFIX = `sec${process.pid}`;
let pki: Pki;
let nats: SecureNats;
const secrets: Record<string, string> = {};

function score(worker: string, candidate: number): Score {
  return { job: 'j-1', prompt: 0, candidate, step: 3, reward: 'pic', value: candidate / 10, worker, busy_s: 0.5 };
}

function passwordFile(user: string): string {
  const file = join(pki.dir, `${user}.password`);
  writeFileSync(file, `${secrets[user]}\n`);
  return file;
}

beforeAll(async () => {
  pki = makePki();
  const server = loopbackLeaf(pki.ca, 'nats', 'spiffe://ttsnap/nats/nats');
  for (const u of ['coordinator', 'w1', 'w2']) secrets[u] = `pw-${u}-${Math.random().toString(36).slice(2)}`;
  const worker = (id: string) => ({ user: id, password: secrets[id] as string, publish: [`${PREFIX}.scores.${id}.>`], subscribe: ['_INBOX.>'] });
  nats = await startSecureNats([{ user: 'coordinator', password: secrets.coordinator as string, publish: [`${PREFIX}.>`, '$JS.API.>', '_INBOX.>'], subscribe: [`${PREFIX}.>`, '_INBOX.>'] }, worker('w1'), worker('w2')], server);
});
afterAll(async () => {
  await nats?.stop();
  pki?.cleanup();
});

describe('NATS with TLS and a user per role', () => {
  const tlsCa = () => ({ natsTlsCa: pki.ca.cert });

  it('a coordinator without credentials fails at start with one line naming the problem', async () => {
    const err = await NatsScoreBus.connect({ url: nats.url, prefix: PREFIX, auth: compileNatsAuth(tlsCa(), {}) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toBe(
      `NATS at ${nats.url} refused: authorization violation (no credentials were given; give --nats-creds, --nats-user with --nats-password-file, or --nats-token-file)`,
    );
  });

  it('a wrong password is refused the same way, saying the credentials were not accepted', async () => {
    const bad = join(pki.dir, 'bad.password');
    writeFileSync(bad, 'nope\n');
    const err = await NatsScoreBus.connect({ url: nats.url, prefix: PREFIX, auth: compileNatsAuth({ ...tlsCa(), natsUser: 'coordinator', natsPasswordFile: bad }, {}) }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/authorization violation \(the user credentials were not accepted;/);
  });

  it('a worker may publish only under its own subject: w2 posing as w1 is refused by NATS, w1 itself is delivered', async () => {
    const coordinator = await NatsScoreBus.connect({ url: nats.url, prefix: PREFIX, auth: compileNatsAuth({ ...tlsCa(), natsUser: 'coordinator', natsPasswordFile: passwordFile('coordinator') }, {}) });
    const errors: string[] = [];
    const w1 = await NatsScoreBus.connect({ url: nats.url, prefix: PREFIX, auth: compileNatsAuth({ ...tlsCa(), natsUser: 'w1', natsPasswordFile: passwordFile('w1') }, {}) });
    const w2 = await NatsScoreBus.connect({ url: nats.url, prefix: PREFIX, onError: (op, e) => errors.push(`${op}: ${String(e)}`), auth: compileNatsAuth({ ...tlsCa(), natsUser: 'w2', natsPasswordFile: passwordFile('w2') }, {}) });
    const got: Score[] = [];
    coordinator.subscribe((s) => got.push(s));
    await coordinator.flush();
    w2.publish([score('w1', 7)]); // forged: w2's user may not publish under w1's subject
    w2.publish([score('w2', 8)]);
    w1.publish([score('w1', 9)]);
    await Promise.all([w1.flush(), w2.flush()]);
    for (let i = 0; i < 40 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200)); // room for a forged score to arrive, were it let through
    expect(got.map((s) => [s.worker, s.candidate]).sort()).toEqual([
      ['w1', 9],
      ['w2', 8],
    ]);
    expect(errors).toEqual(['publish: PERMISSIONS_VIOLATION']);
    await Promise.all([w1.close(), w2.close(), coordinator.close()]);
  });

  it('credentials come from files or the environment, never the command line, one method at a time', () => {
    expect(() => compileNatsAuth({ natsUser: 'w1' }, {})).toThrow('--nats-password-file: missing; allowed: a file holding the password of --nats-user (or TTSNAP_NATS_PASSWORD in the environment)');
    expect(compileNatsAuth({ natsUser: 'w1' }, { TTSNAP_NATS_PASSWORD: 'x' }).method).toEqual({ kind: 'user', user: 'w1', passwordFile: null });
    expect(() => compileNatsAuth({ natsUser: 'w1', natsTokenFile: 'package.json' }, {})).toThrow('--nats-token-file: given with --nats-user');
    expect(() => compileNatsAuth({ natsCreds: '/nonexistent.creds' }, {})).toThrow("--nats-creds: cannot read '/nonexistent.creds'");
    expect(() => compileNatsAuth({ natsTlsCert: 'package.json', natsTlsKey: 'package.json' }, {})).toThrow('--nats-tls-ca: missing');
  });
});

describe('score subjects carry the worker', () => {
  it('worker ids become one subject token and back; pod names stay as they are', async () => {
    const { workerToken, workerFromToken, decodeScores } = await import('../../core/bus/nats.js');
    expect(workerToken('w-0')).toBe('w-0');
    expect(workerToken('127.0.0.1:7000')).toBe('127_2e0_2e0_2e1_3a7000');
    expect(workerToken('a_b')).toBe('a_5fb');
    for (const id of ['w-0', '127.0.0.1:7000', 'a_b', '[::1]:9', 'local-3']) expect(workerFromToken(workerToken(id))).toBe(id);
    expect(workerFromToken('a.b')).toBeNull();
    expect(workerFromToken('a_zz')).toBeNull();
    const data = new TextEncoder().encode('{"v":0.25,"b":1.5}');
    expect(decodeScores('p.scores.w_2d1.j-1.2.3.4.pic', data, 'p')).toEqual([{ job: 'j-1', prompt: 2, candidate: 3, step: 4, reward: 'pic', value: 0.25, worker: 'w-1', busy_s: 1.5 }]);
    expect(decodeScores('p.scores.j-1.2.3.4.pic', data, 'p')).toBeNull();
    const batch = new TextEncoder().encode('{"r":["pic","aes"],"s":[[2,3,4,1,0.25,1.5]]}');
    expect(decodeScores('p.scores.w_2d1.j-1', batch, 'p')).toEqual([{ job: 'j-1', prompt: 2, candidate: 3, step: 4, reward: 'aes', value: 0.25, worker: 'w-1', busy_s: 1.5 }]);
    expect(decodeScores('p.scores.w_2d1.j-1', new TextEncoder().encode('{"r":["pic"],"s":[[2,3,4,1,0.25,1.5]]}'), 'p')).toBeNull();
    expect(decodeScores('p.scores.w_2d1.j>1', batch, 'p')).toBeNull();
  });
});
