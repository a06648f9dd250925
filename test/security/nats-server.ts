import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, httpGet, Proc, waitFor } from '../support/procs.js';

export interface NatsUser {
  readonly user: string;
  readonly password: string;
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

export interface SecureNats {
  readonly url: string;
  readonly proc: Proc;
  stop(): Promise<void>;
}

/** The authorization block of a nats-server config: one user per role with subject permissions. */
export function authorizationBlock(users: readonly NatsUser[]): string {
  const list = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const entries = users.map((u) => `    { user: ${JSON.stringify(u.user)}, password: ${JSON.stringify(u.password)}, permissions: { publish: { allow: ${list(u.publish)} }, subscribe: { allow: ${list(u.subscribe)} } } }`);
  return `authorization {\n  users = [\n${entries.join('\n')}\n  ]\n}\n`;
}

/** nats-server (JetStream on) with users, and TLS when `tls` is given, from a generated config on free loopback ports. */
export async function startSecureNats(users: readonly NatsUser[], tls?: { cert: string; key: string }): Promise<SecureNats> {
  const [port, monitor] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-nats-auth-'));
  const conf = join(dir, 'nats.conf');
  const tlsBlock = tls ? `tls {\n  cert_file: ${JSON.stringify(tls.cert)}\n  key_file: ${JSON.stringify(tls.key)}\n}\n` : '';
  const js = `jetstream {\n  store_dir: ${JSON.stringify(join(dir, 'js'))}\n}\n`;
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\nhttp: "127.0.0.1:${monitor}"\n${js}${tlsBlock}${authorizationBlock(users)}`);
  const proc = new Proc('nats-server', 'nats-server', ['-c', conf]);
  const stop = async (): Promise<void> => {
    await proc.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('nats-server /healthz', async () => ((await httpGet(`http://127.0.0.1:${monitor}/healthz`))?.status === 200 ? true : undefined), 15_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return { url: `nats://127.0.0.1:${port}`, proc, stop };
}
