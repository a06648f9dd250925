// The NATS configuration of the rendered cpu-demo overlay (nats.conf with its TLS block and the generated
// auth.conf) run by a real nats-server on loopback, with certificates made here as cert-manager would issue them
// (the SPIFFE URI SAN of each role). What each certificate's user may do is what deploy/README.md says:
// - the coordinator subscribes to every score, creates and writes the job journal stream and the result bucket;
// - a worker publishes scores under its own subject and nothing else: not as another worker, not into the journal,
//   not on the JetStream API, and it cannot read other workers' scores;
// - a client certificate of the same CA maps to no user and is refused at connect; a certificate of another CA, or
//   none, fails the TLS handshake, which nats.js reports only as a connect timeout: the bus then probes the server
//   itself and says why, in one line.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNatsAuth, type NatsAuth } from '../../core/bus/nats-auth.js';
import { NatsScoreBus } from '../../core/bus/nats.js';
import { NatsResultStore } from '../../core/bus/result-store.js';
import type { Score } from '../../core/bus/score-bus.js';
import { RefusedError } from '../../core/security/errors.js';
import { JetStreamJournal } from '../../coordinator/journal/jetstream.js';
import { makeCa, secretVolume } from '../security/certs.js';
import { ProcGroup } from '../support/procs.js';
import { renderKustomization } from './render.js';
import { startRenderedNats, type RenderedNats } from './rendered-nats.js';

const procs = new ProcGroup();
let nats: RenderedNats;
const secrets: Record<string, string> = {};

/** The NATS flags the manifests pass, with the files of `role`'s mounted secret. */
const authOf = (who: string): NatsAuth =>
  compileNatsAuth({ natsTlsCa: join(secrets.ca ?? '', 'ca.crt'), natsTlsCert: join(secrets[who] ?? '', 'tls.crt'), natsTlsKey: join(secrets[who] ?? '', 'tls.key') }, {});

const connect = (who: string, errors: string[] = []): Promise<NatsScoreBus> =>
  NatsScoreBus.connect({ url: nats.url, auth: authOf(who), onError: (op, e) => errors.push(`${op}: ${e instanceof Error ? e.message : String(e)}`) });

const score = (worker: string, candidate: number): Score => ({ job: 'j-1', prompt: 0, candidate, step: 3, reward: 'pic', value: candidate / 10, worker, busy_s: 0.1 });

/** Waits until `cond` holds or `ms` pass (a refused publish is reported asynchronously). */
async function settle(cond: () => boolean, ms = 3_000): Promise<void> {
  for (const until = Date.now() + ms; !cond() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 25));
}

beforeAll(async () => {
  const dir = procs.tempDir('ttsnap-nats-rendered-');
  const ca = makeCa(dir, 'ca');
  const spiffe = (role: string, name: string) => [`spiffe://ttsnap/${role}/${name}`];
  secrets.nats = secretVolume(ca, { name: 'nats', dns: ['localhost'], ips: ['127.0.0.1'] });
  secrets.ca = secrets.nats;
  secrets.coordinator = secretVolume(ca, { name: 'coordinator', uris: spiffe('coordinator', 'ttsnap-coordinator') });
  secrets.w0 = secretVolume(ca, { name: 'w0', uris: spiffe('worker', 'ttsnap-worker-0') });
  secrets.w1 = secretVolume(ca, { name: 'w1', uris: spiffe('worker', 'ttsnap-worker-1') });
  secrets.client = secretVolume(ca, { name: 'client', uris: spiffe('client', 'ttsnap-search') });
  secrets.stranger = secretVolume(makeCa(dir, 'other-ca'), { name: 'stranger', uris: spiffe('worker', 'ttsnap-worker-0') });
  nats = await startRenderedNats(renderKustomization('cpu-demo'), join(dir, 'nats'), secrets.nats);
  procs.add(nats.proc);
}, 60_000);
afterAll(() => procs.stopAll());

describe('the rendered NATS config in a real nats-server', () => {
  it('runs the overlay config as rendered: TLS with verify_and_map, users from auth.conf', () => {
    expect(nats.conf).toMatch(/^tls \{[^}]*verify_and_map: true/m);
    expect(nats.conf).toContain('include ./auth.conf');
    expect(nats.auth).toContain('"spiffe://ttsnap/worker/ttsnap-worker-2"');
  });

  it('the coordinator receives scores, creates and writes the journal stream and the result bucket', async () => {
    const coordinator = await connect('coordinator');
    const nc = coordinator.connection;
    const journal = await JetStreamJournal.open(nc);
    const store = await NatsResultStore.open(nc, 'ttsnap');
    await store.put('j-1', { summary: { ok: true }, prompts: [{ p: 0 }], listing: { job: 'j-1', state: 'done' } });
    expect(await store.get('j-1', 0, 10)).toMatchObject({ summary: { ok: true }, prompts: [{ p: 0 }], total: 1 });
    // and lists the stored results (ListJobs after a restart)
    expect(await store.list(10, new Set())).toEqual([{ job: 'j-1', listing: { job: 'j-1', state: 'done' } }]);
    const ack = await nc.jetstream().publish('ttsnap.journal.j-1.event', new TextEncoder().encode('{}'));
    expect(ack.stream).toBe(journal.stream);
    journal.close();
    await coordinator.close();
  });

  it('a worker publishes only under its own subject: not as another worker, not into the journal; it reads nothing', async () => {
    const coordinator = await connect('coordinator');
    const got: Score[] = [];
    coordinator.subscribe((s) => got.push(s));
    await coordinator.flush();
    const jsm = await coordinator.connection.jetstreamManager();
    const before = (await jsm.streams.info('ttsnap_journal')).state.messages;

    const errors: string[] = [];
    const w0 = await connect('w0', errors);
    const w1 = await connect('w1');
    w0.publish([score('ttsnap-worker-0', 1)]);
    w0.publish([score('ttsnap-worker-1', 2)]); // forged: under worker 1's subject
    w1.publish([score('ttsnap-worker-1', 3)]);
    w0.connection.publish('ttsnap.journal.j-1.event', new TextEncoder().encode('{"forged":true}'));
    w0.connection.publish('$JS.API.STREAM.DELETE.ttsnap_journal');
    w0.subscribe(() => {});
    await Promise.all([w0.flush(), w1.flush()]);
    await settle(() => got.length >= 2 && errors.length >= 4);
    await new Promise((r) => setTimeout(r, 200)); // room for a forged message to arrive, were it let through

    expect(got.map((s) => [s.worker, s.candidate]).sort()).toEqual([
      ['ttsnap-worker-0', 1],
      ['ttsnap-worker-1', 3],
    ]);
    expect((await jsm.streams.info('ttsnap_journal')).state.messages).toBe(before);
    // three refused publishes and one refused subscription, each reported by the server
    expect(errors.filter((e) => /PERMISSIONS_VIOLATION|Permissions Violation/i.test(e)).length).toBeGreaterThanOrEqual(4);
    expect(nats.proc.stderr).toMatch(/Publish Violation - User "spiffe:\/\/ttsnap\/worker\/ttsnap-worker-0", Subject "ttsnap\.scores\.ttsnap-worker-1\./);
    expect(nats.proc.stderr).toMatch(/Publish Violation - User "spiffe:\/\/ttsnap\/worker\/ttsnap-worker-0", Subject "ttsnap\.journal\.j-1\.event"/);
    expect(nats.proc.stderr).toMatch(/Publish Violation - User "spiffe:\/\/ttsnap\/worker\/ttsnap-worker-0", Subject "\$JS\.API\.STREAM\.DELETE\.ttsnap_journal"/);
    expect(nats.proc.stderr).toMatch(/Subscription Violation - User "spiffe:\/\/ttsnap\/worker\/ttsnap-worker-0", Subject "ttsnap\.scores\.>"/);
    await Promise.all([w0.close(), w1.close(), coordinator.close()]);
  });

  it('a client certificate of the cluster CA maps to no user and is refused at connect, saying so', async () => {
    const client = await connect('client').catch((e: unknown) => e);
    expect(client).toBeInstanceOf(RefusedError);
    expect((client as Error).message).toMatch(
      /^NATS at nats:\/\/127\.0\.0\.1:\d+ refused: authorization violation \(the client certificate maps to no NATS user; the server's auth\.conf names each role's certificate\)$/,
    );
  });

  it('a certificate of another CA, or none, is refused by TLS and said so (not a bare connect timeout)', async () => {
    const attempt = (natsTlsCert?: string, natsTlsKey?: string) =>
      NatsScoreBus.connect({ url: nats.url, connectTimeoutMs: 2_000, auth: compileNatsAuth({ natsTlsCa: join(secrets.ca ?? '', 'ca.crt'), ...(natsTlsCert && natsTlsKey ? { natsTlsCert, natsTlsKey } : {}) }, {}) }).catch((e: unknown) => e);
    const stranger = await attempt(join(secrets.stranger ?? '', 'tls.crt'), join(secrets.stranger ?? '', 'tls.key'));
    expect(stranger).toBeInstanceOf(RefusedError);
    expect((stranger as Error).message).toBe(`NATS at ${nats.url} refused: TLS: the server refused our certificate: it is not signed by a CA the server trusts`);
    const none = await attempt();
    expect(none).toBeInstanceOf(RefusedError);
    expect((none as Error).message).toBe(`NATS at ${nats.url} refused: TLS: the server requires a client certificate: give --nats-tls-cert and --nats-tls-key`);
  });
});
