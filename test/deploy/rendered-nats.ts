/**
 * Runs the NATS configuration that an overlay renders (ConfigMaps nats-config and nats-auth) in a real nats-server
 * on loopback: the same TLS block, the same users and permissions, with only the cluster's addresses and the
 * pod's paths moved (listen/monitor ports, JetStream store, certificate files, pid file).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, httpGet, Proc, waitFor } from '../support/procs.js';
import type { KubeObject } from './render.js';

export interface RenderedNats {
  readonly url: string;
  readonly proc: Proc;
  /** the config files as run */
  readonly conf: string;
  readonly auth: string;
}

function configMapData(objects: readonly KubeObject[], name: string, key: string): string {
  const text = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name)?.data as Record<string, string> | undefined)?.[key];
  if (text === undefined) throw new Error(`no ConfigMap ${name} with ${key} in the rendered overlay`);
  return text;
}

/**
 * Starts nats-server with the overlay's nats.conf and auth.conf in `dir`; `tlsDir` holds the server's tls.crt,
 * tls.key and ca.crt (as the nats-tls Secret would). Throws if the config names a pod path this does not move.
 */
export async function startRenderedNats(objects: readonly KubeObject[], dir: string, tlsDir: string): Promise<RenderedNats> {
  mkdirSync(dir, { recursive: true });
  const [port, monitor] = [await freePort(), await freePort()];
  const conf = configMapData(objects, 'nats-config', 'nats.conf')
    .replace('server_name: $POD_NAME', 'server_name: nats-0')
    .replace(/^port: 4222$/m, `listen: "127.0.0.1:${port}"`)
    .replace(/^http_port: 8222$/m, `http: "127.0.0.1:${monitor}"`)
    .replace('store_dir: /data/jetstream', `store_dir: ${JSON.stringify(join(dir, 'jetstream'))}`)
    .replace('pid_file: /var/run/nats/nats.pid', `pid_file: ${JSON.stringify(join(dir, 'nats.pid'))}`)
    .replaceAll('/etc/nats-tls/', `${tlsDir}/`)
    // the image is nats 2.10; Debian's nats-server here is 2.9.10, which does not know this one JetStream setting
    // (fsync on every write) and refuses the file: the only line not run as rendered
    .replace(/^\s*sync_interval: always$/m, '');
  const left = /(\/etc\/|\/data\/|\/var\/|\$POD_NAME|^port: \d+$)/m.exec(conf);
  if (left) throw new Error(`the rendered nats.conf names ${left[0]}, which the test does not move:\n${conf}`);
  const auth = configMapData(objects, 'nats-auth', 'auth.conf');
  writeFileSync(join(dir, 'nats.conf'), conf);
  writeFileSync(join(dir, 'auth.conf'), auth);
  const proc = new Proc('nats-server (rendered)', 'nats-server', ['-c', join(dir, 'nats.conf')]);
  try {
    await waitFor('nats-server /healthz', async () => ((await httpGet(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`))?.status === 200 ? true : undefined), 15_000);
  } catch (err) {
    await proc.stop(1_000);
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return { url: `nats://127.0.0.1:${port}`, proc, conf, auth };
}
