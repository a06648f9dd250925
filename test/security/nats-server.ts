import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsUser {
  readonly user: string;
  readonly password: string;
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

export interface SecureNats {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** The authorization block of a nats-server config: one user per role with subject permissions. */
export function authorizationBlock(users: readonly NatsUser[]): string {
  const list = (xs: readonly string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const entries = users.map((u) => `    { user: ${JSON.stringify(u.user)}, password: ${JSON.stringify(u.password)}, permissions: { publish: { allow: ${list(u.publish)} }, subscribe: { allow: ${list(u.subscribe)} } } }`);
  return `authorization {\n  users = [\n${entries.join('\n')}\n  ]\n}\n`;
}

/** nats-server on a free loopback port with users (and TLS when `tls` is given), from a generated config file. */
export async function startSecureNats(users: readonly NatsUser[], tls?: { cert: string; key: string }): Promise<SecureNats> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-nats-auth-'));
  const conf = join(dir, 'nats.conf');
  const tlsBlock = tls ? `tls {\n  cert_file: ${JSON.stringify(tls.cert)}\n  key_file: ${JSON.stringify(tls.key)}\n}\n` : '';
  const js = `jetstream {\n  store_dir: ${JSON.stringify(join(dir, 'js'))}\n}\n`;
  writeFileSync(conf, `listen: "127.0.0.1:${port}"\n${js}${tlsBlock}${authorizationBlock(users)}`);
  const child = spawn('/usr/sbin/nats-server', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const until = Date.now() + 20_000;
  while (!/Server is ready/.test(log)) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`nats-server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    child,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
