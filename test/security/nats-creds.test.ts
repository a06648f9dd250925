// `--nats-creds FILE` (an nkey seed and a user JWT, the `.creds` file that nsc or an account server hands out)
// against a real nats-server in operator mode: an operator JWT trusted by the server, an account JWT preloaded in
// its memory resolver, user JWTs with subject permissions signed by the account; the keys and JWTs are made here
// (@nats-io/jwt, the NATS project's JWT library). The same permissions as the per-role users of the deploy config:
// a worker publishes only under its own score subject, the coordinator subscribes to all of them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccount, createOperator, createUser, encodeAccount, encodeOperator, encodeUser, fmtCreds, type KeyPair } from '@nats-io/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileNatsAuth } from '../../core/bus/nats-auth.js';
import { NatsScoreBus } from '../../core/bus/nats.js';
import type { Score } from '../../core/bus/score-bus.js';
import { BadFileError } from '../../core/errors.js';
import { RefusedError } from '../../core/security/errors.js';
import { freePort, httpGet, Proc, ProcGroup, waitFor } from '../support/procs.js';

const procs = new ProcGroup();
let url = '';
let dir = '';
let account: KeyPair;

/** A .creds file for a user of `issuer` (default: the trusted account) with these permissions. */
async function credsFile(name: string, pub: string[], sub: string[], issuer: KeyPair = account): Promise<string> {
  const user = createUser();
  const jwt = await encodeUser(name, user, issuer, { pub: { allow: pub }, sub: sub.length ? { allow: sub } : { deny: ['>'] } });
  const file = join(dir, `${name}.creds`);
  writeFileSync(file, fmtCreds(jwt, user), { mode: 0o600 });
  return file;
}

const connect = (file: string, errors: string[] = []) =>
  NatsScoreBus.connect({ url, auth: compileNatsAuth({ natsCreds: file }, {}), onError: (op, e) => errors.push(`${op}: ${e instanceof Error ? e.message : String(e)}`) });

const score = (worker: string, candidate: number): Score => ({ job: 'j-1', prompt: 0, candidate, step: 3, reward: 'pic', value: candidate / 10, worker, busy_s: 0.1 });

beforeAll(async () => {
  dir = procs.tempDir('ttsnap-nats-creds-');
  const operator = createOperator();
  account = createAccount();
  const operatorJwt = await encodeOperator('ttsnap-operator', operator);
  // unlimited connections and subscriptions (an account JWT's limits default to none allowed)
  const accountJwt = await encodeAccount('ttsnap', account, { limits: { conn: -1, subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, leaf: -1 } }, { signer: operator });
  writeFileSync(join(dir, 'operator.jwt'), operatorJwt);
  const [port, monitor] = [await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'nats.conf'),
    [
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${monitor}"`,
      `operator: ${JSON.stringify(join(dir, 'operator.jwt'))}`,
      'resolver: MEMORY',
      `resolver_preload: { ${account.getPublicKey()}: ${JSON.stringify(accountJwt)} }`,
    ].join('\n'),
  );
  const proc = procs.add(new Proc('nats-server (operator mode)', 'nats-server', ['-c', join(dir, 'nats.conf')]));
  await waitFor('nats-server /healthz', async () => ((await httpGet(`http://127.0.0.1:${monitor}/healthz`))?.status === 200 ? true : undefined), 15_000).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  });
  url = `nats://127.0.0.1:${port}`;
}, 30_000);
afterAll(() => procs.stopAll());

describe('--nats-creds against nats-server in operator mode', () => {
  it('a worker .creds publishes under its own subject; the same worker posing as another is refused; the coordinator .creds reads them', async () => {
    const coordinator = await connect(await credsFile('coordinator', ['_INBOX.>'], ['ttsnap.scores.>', '_INBOX.>']));
    const got: Score[] = [];
    coordinator.subscribe((s) => got.push(s));
    await coordinator.flush();
    const errors: string[] = [];
    const w0 = await connect(await credsFile('ttsnap-worker-0', ['ttsnap.scores.ttsnap-worker-0.>'], []), errors);
    w0.publish([score('ttsnap-worker-0', 1), score('ttsnap-worker-1', 2)]);
    await w0.flush();
    for (let i = 0; i < 120 && (got.length < 1 || errors.length < 1); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200)); // room for the forged score to arrive, were it let through
    expect(got.map((s) => [s.worker, s.candidate])).toEqual([['ttsnap-worker-0', 1]]);
    expect(errors).toEqual(['publish: PERMISSIONS_VIOLATION']);
    await Promise.all([w0.close(), coordinator.close()]);
  });

  it('a .creds signed by an account the operator does not know is refused at connect with one line', async () => {
    const stranger = await credsFile('stranger', ['>'], ['>'], createAccount());
    const err = await connect(stranger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as Error).message).toBe(
      `NATS at ${url} refused: authorization violation (the creds credentials were not accepted; give --nats-creds, --nats-user with --nats-password-file, or --nats-token-file)`,
    );
  });

  it('a file that is not a .creds, or has lost its seed, fails at start naming the file and what it lacks', async () => {
    const junk = join(dir, 'junk.creds');
    writeFileSync(junk, 'not a creds file\n');
    const good = await credsFile('cut', ['>'], []);
    const cut = join(dir, 'cut-seed.creds');
    writeFileSync(cut, readFileSync(good, 'utf8').replace(/SU[A-Z2-7]{56}/, 'SU'));
    for (const file of [junk, cut]) {
      const err = await connect(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadFileError);
      expect((err as Error).message).toBe(
        `${file}: not a NATS .creds file: expected a '-----BEGIN NATS USER JWT-----' block holding a JWT and a '-----BEGIN USER NKEY SEED-----' block holding a user seed (SU...)`,
      );
    }
  });
});
