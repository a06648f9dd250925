/**
 * Mutual TLS wiring of a rendered overlay, which no schema can check: every ttsnap process runs with a certificate,
 * key and CA from a read-only volume that cert-manager fills (a Secret of a rendered Certificate, mode 0440 or
 * tighter, or the csi-driver's per-pod volume), its identity is the SPIFFE name of its role, the names peers dial
 * are in the certificate they will be shown, NATS maps client certificates to users, and the plaintext health
 * port is for kubelet only (no Service exposes it). Problems come back as "Kind/name container: what" lines.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { flagValue, podTemplate, portOf, TTSNAP_IMAGE } from './pod-checks.js';
import { ref, type KubeObject } from './render.js';
import { selects } from './wiring.js';

export const TRUST_DOMAIN = 'ttsnap';
export const CSI_DRIVER = 'csi.cert-manager.io';
/** The most a certificate volume may allow: read by owner and group (the pod's fsGroup), nothing else. */
const MAX_MODE = 0o440;
/** gRPC role of each ttsnap command that the manifests run. */
const ROLE_OF: Record<string, string> = { coordinator: 'coordinator', worker: 'worker', search: 'client' };

interface CertificateSpec {
  secretName: string;
  uris?: string[];
  dnsNames?: string[];
  issuerRef: { name: string; kind?: string };
}

/** What a certificate volume gives the pod: the SPIFFE URIs and DNS names of its identity (csi: with `$(VAR)`s). */
interface Identity {
  uris: string[];
  dnsNames: string[];
}

/** The identity behind a volume, or the problem with it. */
function volumeIdentity(v: IVolume, objects: readonly KubeObject[]): Identity | string {
  const certificate = (secret: string) => objects.find((o) => o.kind === 'Certificate' && (o.spec as CertificateSpec).secretName === secret);
  const issuers = new Set(objects.filter((o) => o.kind === 'Issuer').map((o) => o.metadata.name));
  if (v.secret) {
    const mode = v.secret.defaultMode ?? 0o644;
    if ((mode & ~MAX_MODE) !== 0) return `volume ${v.name}: defaultMode 0${mode.toString(8)} allows more than 0440`;
    const cert = certificate(v.secret.secretName ?? '');
    if (!cert) return `volume ${v.name}: Secret ${v.secret.secretName} is not a rendered cert-manager Certificate's`;
    const spec = cert.spec as CertificateSpec;
    if (!issuers.has(spec.issuerRef.name)) return `${ref(cert)}: issuer ${spec.issuerRef.name} is not rendered`;
    return { uris: spec.uris ?? [], dnsNames: spec.dnsNames ?? [] };
  }
  if (v.csi) {
    if (v.csi.driver !== CSI_DRIVER) return `volume ${v.name}: CSI driver ${v.csi.driver} is not ${CSI_DRIVER}`;
    if (v.csi.readOnly !== true) return `volume ${v.name}: the CSI volume is not readOnly`;
    const a = v.csi.volumeAttributes ?? {};
    if (!issuers.has(a['csi.cert-manager.io/issuer-name'] ?? '')) return `volume ${v.name}: issuer ${a['csi.cert-manager.io/issuer-name']} is not rendered`;
    // the driver writes ${VAR}; Kubernetes expands $(VAR) in the command: compare them in one spelling
    const split = (k: string) => (a[k] ?? '').split(',').filter(Boolean).map((x) => x.trim().replace(/\$\{(\w+)\}/g, '$($1)'));
    return { uris: split('csi.cert-manager.io/uri-sans'), dnsNames: split('csi.cert-manager.io/dns-names') };
  }
  return `volume ${v.name}: neither a cert-manager Secret nor a ${CSI_DRIVER} volume`;
}

/** The read-only volume a file flag's path lies in, with the problem when it is not one. */
function fileVolume(c: IContainer, volumes: readonly IVolume[], path: string): IVolume | string {
  const m = (c.volumeMounts ?? []).filter((x) => path.startsWith(`${x.mountPath.replace(/\/$/, '')}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!m) return `${path} is in no mounted volume`;
  if (m.readOnly !== true) return `${m.mountPath} is not mounted readOnly`;
  return volumes.find((v) => v.name === m.name) ?? `volume ${m.name} is not in the pod`;
}

/** The host of a HOST:PORT flag. */
const hostOf = (hostPort: string | undefined): string | undefined => hostPort?.replace(/:\d+$/, '');

export function tlsProblems(objects: readonly KubeObject[]): string[] {
  const out: string[] = [];
  const identities = new Map<string, Identity>();
  for (const o of objects) {
    const spec = podTemplate(o)?.spec;
    for (const c of spec?.containers ?? []) {
      if (!c.image?.startsWith(`${TTSNAP_IMAGE}:`)) continue;
      const where = `${ref(o)} ${c.name}`;
      const command = c.command?.[2] ?? '';
      const role = ROLE_OF[command];
      if (!role) continue;
      const files = ['--tls-cert', '--tls-key', '--tls-ca', ...(role === 'client' ? [] : ['--nats-tls-ca', '--nats-tls-cert', '--nats-tls-key'])];
      let identity: Identity | undefined;
      for (const flag of files) {
        const path = flagValue(c, flag);
        if (path === undefined) {
          out.push(`${where}: no ${flag}`);
          continue;
        }
        const v = fileVolume(c, spec?.volumes ?? [], path);
        const id = typeof v === 'string' ? v : volumeIdentity(v, objects);
        if (typeof id === 'string') out.push(`${where}: ${flag} ${path}: ${id}`);
        else if (flag === '--tls-cert') identity = id;
      }
      if (!identity) continue;
      const name = role === 'worker' ? flagValue(c, '--id') : o.metadata.name;
      const spiffe = `spiffe://${TRUST_DOMAIN}/${role}/${name}`;
      if (!identity.uris.includes(spiffe)) out.push(`${where}: the certificate's URI SANs ${JSON.stringify(identity.uris)} lack ${spiffe}`);
      identities.set(command, identity);
      // the coordinator dials the name a worker advertises, and checks it against the worker's certificate
      const advertised = hostOf(flagValue(c, '--advertise'));
      if (role === 'worker' && (advertised === undefined || !identity.dnsNames.includes(advertised))) {
        out.push(`${where}: advertises ${advertised ?? '(nothing)'}, which its certificate (${identity.dnsNames.join(', ')}) does not carry`);
      }
      if (role === 'worker' && advertised !== undefined && advertised.includes('$(POD_IP)')) out.push(`${where}: advertises the pod IP, not a name its certificate can carry`);
    }
  }
  // workers and clients dial the coordinator by its Service name: the coordinator's certificate must carry it
  const coordinatorDns = identities.get('coordinator')?.dnsNames ?? [];
  for (const o of objects) {
    for (const c of podTemplate(o)?.spec?.containers ?? []) {
      const dialed = hostOf(flagValue(c, '--coordinator'));
      if (dialed !== undefined && !coordinatorDns.includes(dialed)) out.push(`${ref(o)} ${c.name}: dials the coordinator as ${dialed}, which its certificate does not carry`);
    }
  }
  out.push(...healthPortProblems(objects), ...natsTlsProblems(objects));
  return out;
}

/** The plaintext health port is for kubelet alone: no Service may route to it. */
function healthPortProblems(objects: readonly KubeObject[]): string[] {
  const out: string[] = [];
  for (const o of objects) {
    for (const c of podTemplate(o)?.spec?.containers ?? []) {
      const health = portOf(flagValue(c, '--health-listen'));
      if (health === undefined) continue;
      const named = (c.ports ?? []).filter((p) => p.containerPort === health).map((p) => p.name);
      const labels = (podTemplate(o)?.metadata?.labels ?? {}) as Record<string, string>;
      for (const s of objects.filter((x) => x.kind === 'Service' && selects({ matchLabels: (x.spec as { selector?: Record<string, string> }).selector ?? {} }, labels))) {
        const ports = (s.spec as { ports?: { port: number; targetPort?: string | number }[] }).ports ?? [];
        if (ports.some((p) => p.targetPort === health || (p.targetPort === undefined && p.port === health) || named.includes(String(p.targetPort)))) {
          out.push(`${ref(s)}: exposes the plaintext health port ${health} of ${ref(o)}`);
        }
      }
    }
  }
  return out;
}

/** NATS requires client certificates of the CA and maps each to a user (auth.conf), from a read-only mode-0440 Secret. */
function natsTlsProblems(objects: readonly KubeObject[]): string[] {
  const nats = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'nats');
  if (!nats) return [];
  const out: string[] = [];
  const conf = (objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'nats-config')?.data as Record<string, string> | undefined)?.['nats.conf'] ?? '';
  const tls = /^tls \{([^}]*)\}/m.exec(conf)?.[1] ?? '';
  if (!/verify_and_map: true/.test(tls)) out.push('ConfigMap/nats-config: the client tls block does not verify_and_map client certificates');
  if (!/^include \.\/auth\.conf$/m.test(conf)) out.push('ConfigMap/nats-config: does not include ./auth.conf');
  const spec = podTemplate(nats)?.spec;
  const server = spec?.containers.find((c) => c.name === 'nats');
  for (const flag of ['cert_file', 'key_file', 'ca_file']) {
    const path = new RegExp(`${flag}: (\\S+)`).exec(tls)?.[1];
    if (!path || !server) {
      out.push(`ConfigMap/nats-config: tls has no ${flag}`);
      continue;
    }
    const v = fileVolume(server, spec?.volumes ?? [], path);
    const id = typeof v === 'string' ? v : volumeIdentity(v, objects);
    if (typeof id === 'string') out.push(`${ref(nats)} nats: ${flag} ${path}: ${id}`);
  }
  return out;
}
