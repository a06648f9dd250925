import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNatsAuth } from '../../core/bus/nats-auth.js';
import { NatsScoreBus } from '../../core/bus/nats.js';
import { PAPER_SCHEDULE } from '../../core/engine/schedule.js';
import { SecurityContext } from '../../core/security/context.js';
import { compileSecurity } from '../../core/security/options.js';
import { CoordinatorGrpcClient } from '../../coordinator/client.js';
import { resultJson } from '../../coordinator/result.js';
import { BASE, engineAlone } from '../integration/runtime/engine-alone.js';
import { TestCluster } from '../integration/runtime/cluster.js';
import { runCli } from '../support/procs.js';
import { enginePicks, picks, type SearchDoc } from '../integration/runtime/search-cli.js';
import { loopbackLeaf } from './certs.js';
import { startSecureNats, type SecureNats } from './nats-server.js';
import { CLUSTER_TEST_MS, makePki, tlsFlags, type Pki } from './pki.js';

const traces = existsSync(BASE);
if (!traces) process.stderr.write(`skipping the secured cluster tests: no ${BASE} (put the reward traces in ../shared/traces)\n`);
const PROMPTS = Array.from({ length: 6 }, (_, i) => 60 + i);
const N = 32;

function passwordFile(dir: string, user: string, password: string): string {
  const f = join(dir, `${user}.pw`);
  writeFileSync(f, `${password}\n`);
  return f;
}

describe.skipIf(!traces)('NATS with a user per role under a running cluster', { timeout: CLUSTER_TEST_MS }, () => {
  const cluster = new TestCluster();
  let pki: Pki;
  let nats: SecureNats;
  const pw = { coordinator: `c-${Math.random()}`, w1: `w1-${Math.random()}`, w2: `w2-${Math.random()}` };

  beforeAll(async () => {
    pki = makePki();
    const p = cluster.prefix;
    const worker = (id: 'w1' | 'w2') => ({ user: id, password: pw[id], publish: [`${p}.scores.${id}.>`], subscribe: ['_INBOX.>'] });
    nats = await startSecureNats([{ user: 'coordinator', password: pw.coordinator, publish: [`${p}.>`, '$JS.API.>', '_INBOX.>'], subscribe: [`${p}.>`, '_INBOX.>'] }, worker('w1'), worker('w2')]);
    cluster.natsUrl = nats.url;
  });
  afterAll(async () => {
    await cluster.close();
    await nats?.stop();
    pki?.cleanup();
  });

  it('a coordinator without NATS credentials fails at start with one line naming the problem (exit 5)', async () => {
    const { code, stderr } = await runCli(['coordinator', '--listen', '127.0.0.1:0', '--nats', nats.url, '--nats-prefix', cluster.prefix]);
    expect(code).toBe(5);
    expect(stderr.trim().split('\n').pop()).toBe(`ttsnap: NATS at ${nats.url} refused: authorization violation (no credentials were given; give --nats-creds, --nats-user with --nats-password-file, or --nats-token-file)`);
  });

  it('a worker publishing under another worker\'s subject is refused by NATS, and the job\'s winners are unchanged', async () => {
    const dir = pki.dir;
    await cluster.startCoordinator(['--nats-user', 'coordinator', '--nats-password-file', passwordFile(dir, 'coordinator', pw.coordinator), '--worker-timeout-ms', '15000']);
    await Promise.all((['w1', 'w2'] as const).map((id) => cluster.startWorker(id, 4, 4, ['--nats-user', id, '--nats-password-file', passwordFile(dir, id, pw[id])])));
    await cluster.waitForWorkers(2);
    // w2's credentials, forging scores as w1: the best possible value for every candidate at every step.
    const refusals: string[] = [];
    const rogue = await NatsScoreBus.connect({ url: nats.url, prefix: cluster.prefix, onError: (op, e) => refusals.push(`${op}: ${String(e)}`), auth: compileNatsAuth({ natsUser: 'w2', natsPasswordFile: passwordFile(dir, 'w2', pw.w2) }, {}) });
    const client = new CoordinatorGrpcClient(cluster.coordinatorAddr);
    const { job } = await client.submit({ prompts: PROMPTS, candidates: N, schedule: [...PAPER_SCHEDULE], seed: 31 });
    let forged = 0;
    await client.watch(job, (e) => {
      if (forged > 0 || e.event !== 'stage') return;
      for (const prompt of PROMPTS) for (let c = 0; c < 200; c++) for (const step of PAPER_SCHEDULE.map((s) => s.step)) {
        rogue.publish([{ job, prompt, candidate: c, step, reward: 'pic', value: 1e9 - c, worker: 'w1', busy_s: 0 }]);
        forged += 1;
      }
    });
    await rogue.flush();
    const doc = resultJson(await client.result(job), 0) as unknown as SearchDoc;
    client.close();
    await rogue.close();
    expect(forged).toBeGreaterThan(1000);
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals)).toEqual(new Set(['publish: PERMISSIONS_VIOLATION']));
    expect(picks(doc)).toEqual(enginePicks(engineAlone(PROMPTS, N, PAPER_SCHEDULE, 31)));
  });
});

/** The serial number of the certificate a new TLS connection to `addr` is shown. */
function servedSerial(addr: string): Promise<string> {
  const [host, port] = addr.split(':') as [string, string];
  return new Promise((resolve, reject) => {
    const s = connect({ host, port: Number(port), rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const serial = new X509Certificate(s.getPeerCertificate().raw).serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

describe.skipIf(!traces)('certificate rotation under a running job', { timeout: CLUSTER_TEST_MS }, () => {
  const cluster = new TestCluster();
  let pki: Pki;
  afterAll(async () => {
    await cluster.close();
    pki?.cleanup();
  });

  it('the coordinator picks up new certificate files mid-job; new connections get them; the job completes with the same winners', async () => {
    pki = makePki();
    const cert = join(pki.dir, 'coordinator-live.crt');
    const key = join(pki.dir, 'coordinator-live.key');
    copyFileSync(pki.coordinator.cert, cert);
    copyFileSync(pki.coordinator.key, key);
    const next = loopbackLeaf(pki.ca, 'coordinator-next', 'spiffe://ttsnap/coordinator/coordinator');
    const tls = (f: { tlsCert?: string; tlsKey?: string; tlsCa: string }) => ['--tls-cert', f.tlsCert as string, '--tls-key', f.tlsKey as string, '--tls-ca', f.tlsCa];
    await cluster.startNats();
    await cluster.startCoordinator(['--tls-cert', cert, '--tls-key', key, '--tls-ca', pki.ca.cert, '--tls-refresh-ms', '200', '--worker-timeout-ms', '15000']);
    await Promise.all(pki.workers.map((w, i) => cluster.startWorker(`w${i + 1}`, 6, 4, tls(tlsFlags(pki, w)))));
    await cluster.waitForWorkers(2);
    const before = await servedSerial(cluster.coordinatorAddr);
    expect(before).toBe(new X509Certificate(readFileSync(pki.coordinator.cert)).serialNumber);
    const ctx = new SecurityContext(compileSecurity(tlsFlags(pki, pki.client)));
    const client = new CoordinatorGrpcClient(cluster.coordinatorAddr, ctx);
    const { job } = await client.submit({ prompts: PROMPTS, candidates: N, schedule: [...PAPER_SCHEDULE], seed: 32 });
    let rotated = false;
    const done = await client.watch(job, (e) => {
      if (rotated || e.event !== 'stage') return;
      rotated = true;
      copyFileSync(next.key, key);
      copyFileSync(next.cert, cert);
    });
    expect(rotated).toBe(true);
    expect(done.done?.state).toBe('done');
    const want = new X509Certificate(readFileSync(next.cert)).serialNumber;
    for (let i = 0; i < 50 && (await servedSerial(cluster.coordinatorAddr)) !== want; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await servedSerial(cluster.coordinatorAddr)).toBe(want);
    // A new client (new connection) is served the new certificate and works; the workers keep heartbeating.
    const fresh = new CoordinatorGrpcClient(cluster.coordinatorAddr, ctx);
    const doc = resultJson(await fresh.result(job), 0) as unknown as SearchDoc;
    expect(picks(doc)).toEqual(enginePicks(engineAlone(PROMPTS, N, PAPER_SCHEDULE, 32)));
    expect(await fresh.list()).toHaveLength(1);
    fresh.close();
    client.close();
    ctx.close();
  });
});
