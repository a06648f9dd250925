import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A test CA made with openssl in a temp folder; issues leaf certificates with SANs and chosen validity. */
export interface TestCa {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

export interface Leaf {
  readonly cert: string;
  readonly key: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA (EC P-256: fast to make) in `dir/<name>`. */
export function makeCa(dir: string, name: string): TestCa {
  const d = join(dir, name);
  mkdirSync(join(d, 'issued'), { recursive: true });
  writeFileSync(join(d, 'index.txt'), '');
  writeFileSync(join(d, 'serial'), '1000\n');
  writeFileSync(
    join(d, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `dir = ${d}`,
      'database = $dir/index.txt',
      'serial = $dir/serial',
      'new_certs_dir = $dir/issued',
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
    ].join('\n'),
  );
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', `/CN=${name}`], d);
  return { dir: d, cert: join(d, 'ca.crt'), key: join(d, 'ca.key') };
}

export interface LeafSpec {
  /** file stem under the CA folder */
  readonly name: string;
  /** SPIFFE or other URI SANs */
  readonly uris?: readonly string[];
  readonly dns?: readonly string[];
  readonly ips?: readonly string[];
  /** validity as openssl dates (YYYYMMDDHHMMSSZ); default now .. +30 days */
  readonly start?: string;
  readonly end?: string;
}

/** Issues a leaf certificate (server and client usage) signed by `ca`. */
export function issue(ca: TestCa, spec: LeafSpec): Leaf {
  const d = ca.dir;
  const key = join(d, `${spec.name}.key`);
  const csr = join(d, `${spec.name}.csr`);
  const cert = join(d, `${spec.name}.crt`);
  const sans = [...(spec.uris ?? []).map((u) => `URI:${u}`), ...(spec.dns ?? []).map((n) => `DNS:${n}`), ...(spec.ips ?? []).map((i) => `IP:${i}`)];
  const ext = join(d, `${spec.name}.ext`);
  writeFileSync(ext, [`basicConstraints = CA:FALSE`, 'keyUsage = digitalSignature, keyEncipherment', 'extendedKeyUsage = serverAuth, clientAuth', ...(sans.length ? [`subjectAltName = ${sans.join(',')}`] : [])].join('\n'));
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${spec.name}`], d);
  const validity = spec.start && spec.end ? ['-startdate', spec.start, '-enddate', spec.end] : ['-days', '30'];
  openssl(['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', csr, '-out', cert, '-extfile', ext, '-notext', ...validity], d);
  return { cert, key };
}

/** A server leaf for loopback: DNS localhost and IP 127.0.0.1, with a SPIFFE identity. */
export function loopbackLeaf(ca: TestCa, name: string, spiffe: string): Leaf {
  return issue(ca, { name, uris: [spiffe], dns: ['localhost'], ips: ['127.0.0.1'] });
}

/**
 * A leaf issued by `ca` laid out as a cert-manager Secret volume is: `tls.crt`, `tls.key` and `ca.crt` in one
 * folder (`<ca dir>/<name>-secret`), so that manifests' `/etc/.../tls/` paths can point at it.
 */
export function secretVolume(ca: TestCa, spec: LeafSpec): string {
  const leaf = issue(ca, spec);
  const dir = join(ca.dir, `${spec.name}-secret`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(leaf.cert, join(dir, 'tls.crt'));
  copyFileSync(leaf.key, join(dir, 'tls.key'));
  copyFileSync(ca.cert, join(dir, 'ca.crt'));
  return dir;
}
