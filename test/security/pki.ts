import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issue, loopbackLeaf, makeCa, type Leaf, type TestCa } from './certs.js';

/** Time limit of a test that starts a cluster of node processes (or several CLI runs): seconds each on a shared, loaded machine. */
export const CLUSTER_TEST_MS = 120_000;

/** The certificates the security tests share: a cluster CA, one of each role, and the bad ones. */
export interface Pki {
  readonly dir: string;
  readonly ca: TestCa;
  readonly otherCa: TestCa;
  readonly coordinator: Leaf;
  readonly workers: readonly [Leaf, Leaf];
  readonly client: Leaf;
  readonly otherCaClient: Leaf;
  readonly expiredClient: Leaf;
  readonly noSpiffeClient: Leaf;
  cleanup(): void;
}

export function makePki(trustDomain = 'ttsnap'): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'ttsnap-pki-'));
  const ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  const id = (role: string, name: string): string => `spiffe://${trustDomain}/${role}/${name}`;
  return {
    dir,
    ca,
    otherCa,
    coordinator: loopbackLeaf(ca, 'coordinator', id('coordinator', 'coordinator')),
    workers: [loopbackLeaf(ca, 'w1', id('worker', 'w1')), loopbackLeaf(ca, 'w2', id('worker', 'w2'))],
    client: issue(ca, { name: 'alice', uris: [id('client', 'alice')] }),
    otherCaClient: issue(otherCa, { name: 'eve', uris: [id('client', 'eve')] }),
    expiredClient: issue(ca, { name: 'old', uris: [id('client', 'old')], start: '20200101000000Z', end: '20200102000000Z' }),
    noSpiffeClient: issue(ca, { name: 'nobody', dns: ['nobody.example'] }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The flags a process with `leaf` would be started with. */
export function tlsFlags(pki: Pki, leaf: Leaf | null): { tlsCert?: string; tlsKey?: string; tlsCa: string } {
  return leaf ? { tlsCert: leaf.cert, tlsKey: leaf.key, tlsCa: pki.ca.cert } : { tlsCa: pki.ca.cert };
}
