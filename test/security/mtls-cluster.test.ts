import { existsSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAPER_SCHEDULE, formatSchedule } from '../../core/engine/schedule.js';
import { SecurityContext } from '../../core/security/context.js';
import { compileSecurity } from '../../core/security/options.js';
import { BASE, engineAlone } from '../integration/runtime/engine-alone.js';
import { TestCluster } from '../integration/runtime/cluster.js';
import { runCli } from '../support/procs.js';
import { enginePicks, picks, searchCli } from '../integration/runtime/search-cli.js';
import { CLUSTER_TEST_MS, makePki, tlsFlags, type Pki } from './pki.js';
import { callOnce } from './stub-coordinator.js';
import { coordinatorProto, channelOptions, MAX_COORDINATOR_MESSAGE } from '../../core/grpc/load.js';

// A coordinator, two workers and `ttsnap search`, all over mutual TLS with certificates made here. Heartbeat
// timeouts are generous: these tests compare ledgers, which a worker declared lost on a loaded machine would change.
const PROMPTS: [number, number] = [20, 24];
const N = 32;
const SEED = 9;
const COMMON = ['--prompts', `${PROMPTS[0]}:${PROMPTS[1]}`, '--candidates', String(N), '--schedule', formatSchedule(PAPER_SCHEDULE), '--seed', String(SEED)];
const traces = existsSync(BASE);
if (!traces) process.stderr.write(`skipping the mTLS cluster tests: no ${BASE} (put the reward traces in ../shared/traces)\n`);

function tlsArgs(pki: Pki, leaf: { cert: string; key: string } | null): string[] {
  const f = tlsFlags(pki, leaf);
  return [...(f.tlsCert ? ['--tls-cert', f.tlsCert, '--tls-key', f.tlsKey as string] : []), '--tls-ca', f.tlsCa];
}

/** `ttsnap search` that is expected to fail: exit code and last stderr line. */
async function searchFails(args: string[]): Promise<{ code: number | null; line: string }> {
  const { code, stderr } = await runCli(['search', ...args, '--json']);
  return { code, line: stderr.trim().split('\n').pop() ?? ''};
}

describe.skipIf(!traces)('mutual TLS cluster: coordinator, 2 workers, search', { timeout: CLUSTER_TEST_MS }, () => {
  const secure = new TestCluster();
  const plain = new TestCluster();
  let pki: Pki;
  const expected = engineAlone(Array.from({ length: PROMPTS[1] - PROMPTS[0] }, (_, i) => PROMPTS[0] + i), N, PAPER_SCHEDULE, SEED);

  beforeAll(async () => {
    pki = makePki();
    await secure.startNats();
    await secure.startCoordinator([...tlsArgs(pki, pki.coordinator), '--worker-timeout-ms', '15000']);
    await Promise.all(pki.workers.map((w, i) => secure.startWorker(`w${i + 1}`, 2, 4, tlsArgs(pki, w))));
    await secure.waitForWorkers(2);
    await plain.startNats();
    await plain.startCoordinator(['--worker-timeout-ms', '15000']);
    await Promise.all(['w1', 'w2'].map((id) => plain.startWorker(id, 2, 4)));
    await plain.waitForWorkers(2);
  });
  afterAll(async () => {
    await Promise.all([secure.close(), plain.close()]);
    pki?.cleanup();
  });

  it('finds the same winners, explored sets and ledgers as the plaintext cluster (and the engine alone)', async () => {
    const [tls, clear] = await Promise.all([searchCli([...COMMON, '--coordinator', secure.coordinatorAddr, ...tlsArgs(pki, pki.client)]), searchCli([...COMMON, '--coordinator', plain.coordinatorAddr])]);
    expect(picks(tls.doc)).toEqual(picks(clear.doc));
    expect(picks(tls.doc)).toEqual(enginePicks(expected));
    expect(tls.doc.ledger).toEqual(clear.doc.ledger);
    expect(Object.keys(tls.doc.timeline.worker_busy_s).sort()).toEqual(['w1', 'w2']);
    expect(tls.stderr).toMatch(/gRPC over mutual TLS/);
  });

  it('a plaintext client, another CA and an expired certificate are refused at once: one line, exit code 5', async () => {
    const addr = secure.coordinatorAddr;
    const [plaintext, other, expired] = await Promise.all([
      searchFails([...COMMON, '--coordinator', addr]),
      searchFails([...COMMON, '--coordinator', addr, '--tls-cert', pki.otherCaClient.cert, '--tls-key', pki.otherCaClient.key, '--tls-ca', pki.ca.cert]),
      searchFails([...COMMON, '--coordinator', addr, ...tlsArgs(pki, pki.expiredClient)]),
    ]);
    expect(plaintext).toMatchObject({ code: 5, line: `ttsnap: ${addr} refused: the server requires TLS and this client speaks plaintext: give --tls-ca (and --tls-cert/--tls-key for mutual TLS)` });
    expect(other.code).toBe(5);
    expect(other.line).toMatch(new RegExp(`^ttsnap: ${addr} refused: the server (refused our certificate|closed the connection after the TLS handshake: it did not accept our certificate)`));
    expect(expired.code).toBe(5);
    expect(expired.line).toMatch(/refused: .*our certificate expired on Jan {1,2}2 00:00:00 2020 GMT/);
    // Refused, not retried: a retried UNAVAILABLE would end after the client's 30 s window with a different message
    // ('coordinator: UNAVAILABLE ...'); each line above is the refusal's own. No wall-clock bound: CI machines vary.
  });

  it('a client certificate calling RegisterWorker and a worker certificate calling CancelJob get PERMISSION_DENIED', async () => {
    const call = async (leaf: { cert: string; key: string }, method: 'RegisterWorker' | 'CancelJob', req: object): Promise<grpc.ServiceError | null> => {
      const ctx = new SecurityContext(compileSecurity(tlsFlags(pki, leaf)));
      const Ctor = coordinatorProto().ttsnap.v1.Coordinator;
      const client = new Ctor(secure.coordinatorAddr, ctx.channelCredentials(), channelOptions(MAX_COORDINATOR_MESSAGE));
      try {
        return await callOnce(client, method, req);
      } finally {
        client.close();
        ctx.close();
      }
    };
    const reg = await call(pki.client, 'RegisterWorker', { worker: 'alice', address: '127.0.0.1:1' });
    expect([reg?.code, reg?.details]).toEqual([grpc.status.PERMISSION_DENIED, "RegisterWorker: permission denied: client 'alice' may not call it; allowed: worker"]);
    const cancel = await call(pki.workers[0], 'CancelJob', { job: 'j1-0' });
    expect([cancel?.code, cancel?.details]).toEqual([grpc.status.PERMISSION_DENIED, "CancelJob: permission denied: worker 'w1' may not call it; allowed: client"]);
  });
});
