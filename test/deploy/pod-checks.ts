/**
 * Our own rules for every pod template in a rendered overlay: probes (gRPC health on ttsnap's gRPC port), requests
 * and limits, non-root under the restricted Pod Security profile, and pinned images. Each returns problems as
 * "Kind/name container: what is wrong" lines, empty when the object is fine.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { ref, type KubeObject } from './render.js';

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'] as const;
/** Kinds whose pods run until stopped, and so need liveness and readiness probes. */
const LONG_RUNNING = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
export const TTSNAP_IMAGE = 'ghcr.io/ttsnap/ttsnap';
const MIN_PROBE_TIMEOUT_S = 5;

/** The pod template of a workload, or undefined for any other object. */
export function podTemplate(o: KubeObject): IPodTemplateSpec | undefined {
  const spec = o.spec as { template?: IPodTemplateSpec; jobTemplate?: { spec?: { template?: IPodTemplateSpec } } } | undefined;
  if (o.kind === 'CronJob') return spec?.jobTemplate?.spec?.template;
  return (WORKLOAD_KINDS as readonly string[]).includes(o.kind) ? spec?.template : undefined;
}

const allContainers = (t: IPodTemplateSpec): IContainer[] => [...(t.spec?.initContainers ?? []), ...(t.spec?.containers ?? [])];

/** The value after `flag` in a container's command + args, as Kubernetes passes them. */
export function flagValue(c: IContainer, flag: string): string | undefined {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

export const portOf = (hostPort: string | undefined): number | undefined => {
  const m = hostPort?.match(/:(\d+)$/);
  return m ? Number(m[1]) : undefined;
};

/**
 * Probes: readiness and liveness on long-running pods; ttsnap's are native gRPC probes with timeouts of at least
 * 5 s, on the port that answers them in plaintext: the --health-listen port (health only) when the server speaks
 * TLS (kubelet's gRPC probes cannot), else the --listen port. A health port is a second port only for kubelet: it
 * must differ from --listen.
 */
export function probeProblems(o: KubeObject): string[] {
  const t = podTemplate(o);
  if (!t || !LONG_RUNNING.has(o.kind)) return [];
  const out: string[] = [];
  for (const c of t.spec?.containers ?? []) {
    const where = `${ref(o)} ${c.name}`;
    if (!c.readinessProbe) out.push(`${where}: no readinessProbe`);
    if (!c.livenessProbe) out.push(`${where}: no livenessProbe`);
    if (!c.image?.startsWith(`${TTSNAP_IMAGE}:`)) continue;
    const listen = portOf(flagValue(c, '--listen'));
    const health = portOf(flagValue(c, '--health-listen'));
    if (listen === undefined) out.push(`${where}: no --listen HOST:PORT`);
    if (flagValue(c, '--tls-cert') !== undefined && health === undefined) out.push(`${where}: serves TLS without --health-listen, and kubelet's gRPC probes cannot speak TLS`);
    if (health !== undefined && health === listen) out.push(`${where}: --health-listen and --listen share port ${health}`);
    const expected = health ?? listen;
    for (const [kind, p] of [['startupProbe', c.startupProbe], ['readinessProbe', c.readinessProbe], ['livenessProbe', c.livenessProbe]] as const) {
      if (!p) continue;
      if (!p.grpc) out.push(`${where}: ${kind} is not a grpc.health.v1 (grpc:) probe`);
      else if (p.grpc.port !== expected) out.push(`${where}: ${kind} probes port ${p.grpc.port}, health answers in plaintext on ${expected}`);
      // the default 1 s is less than a GC pause of a busy single-threaded coordinator
      if ((p.timeoutSeconds ?? 1) < MIN_PROBE_TIMEOUT_S) out.push(`${where}: ${kind} timeoutSeconds ${p.timeoutSeconds ?? 1} is under ${MIN_PROBE_TIMEOUT_S} s`);
    }
  }
  return out;
}

const CPU = /^(\d+(?:\.\d+)?)(m?)$/;
const MEM = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
const MEM_UNIT: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A cpu or memory quantity in base units (cores, bytes); NaN when it does not parse. */
export function quantity(resource: 'cpu' | 'memory', q: string | number): number {
  const s = String(q);
  const m = (resource === 'cpu' ? CPU : MEM).exec(s);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return resource === 'cpu' ? (m[2] === 'm' ? n / 1000 : n) : n * (MEM_UNIT[m[2] ?? ''] ?? Number.NaN);
}

/** Every container requests and limits cpu and memory, with requests no larger than limits. */
export function resourceProblems(o: KubeObject): string[] {
  const t = podTemplate(o);
  if (!t) return [];
  const out: string[] = [];
  for (const c of allContainers(t)) {
    for (const r of ['cpu', 'memory'] as const) {
      const req = c.resources?.requests?.[r];
      const lim = c.resources?.limits?.[r];
      if (req === undefined || lim === undefined) {
        out.push(`${ref(o)} ${c.name}: ${r} needs both a request and a limit`);
        continue;
      }
      const [a, b] = [quantity(r, req), quantity(r, lim)];
      if (Number.isNaN(a) || Number.isNaN(b)) out.push(`${ref(o)} ${c.name}: ${r} ${req}/${lim} does not parse`);
      else if (a > b) out.push(`${ref(o)} ${c.name}: ${r} request ${req} exceeds limit ${lim}`);
    }
  }
  return out;
}

/** Pod Security "restricted": non-root uid, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp. */
export function securityProblems(o: KubeObject): string[] {
  const t = podTemplate(o);
  if (!t) return [];
  const pod = t.spec?.securityContext;
  const out: string[] = [];
  if (t.spec?.hostNetwork || t.spec?.hostPID || t.spec?.hostIPC) out.push(`${ref(o)}: uses a host namespace`);
  for (const c of allContainers(t)) {
    const sc = c.securityContext;
    const where = `${ref(o)} ${c.name}`;
    if ((sc?.runAsNonRoot ?? pod?.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
    const uid = sc?.runAsUser ?? pod?.runAsUser;
    if (uid === undefined || uid === 0) out.push(`${where}: runAsUser must be a non-zero uid (got ${uid})`);
    if (sc?.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc?.privileged) out.push(`${where}: privileged`);
    if (!sc?.capabilities?.drop?.includes('ALL')) out.push(`${where}: capabilities do not drop ALL`);
    if ((sc?.seccompProfile ?? pod?.seccompProfile)?.type !== 'RuntimeDefault') out.push(`${where}: seccompProfile is not RuntimeDefault`);
  }
  return out;
}

/**
 * Images are pinned: an explicit tag that is not `latest` (or a digest); ttsnap's own images carry the release
 * version from package.json (optionally with a flavour suffix such as -cuda12).
 */
export function imageProblems(o: KubeObject, release: string): string[] {
  const t = podTemplate(o);
  if (!t) return [];
  const out: string[] = [];
  for (const c of allContainers(t)) {
    const image = c.image ?? '';
    const where = `${ref(o)} ${c.name}`;
    if (image.includes('@sha256:')) continue;
    const m = /^(.+):([\w][\w.-]{0,127})$/.exec(image);
    if (!m) out.push(`${where}: image ${image || '(none)'} has no tag`);
    else if (m[2] === 'latest') out.push(`${where}: image ${image} uses :latest`);
    else if (m[1] === TTSNAP_IMAGE && !new RegExp(`^${release.replace(/\./g, '\\.')}(-[a-z0-9]+)?$`).test(m[2] ?? '')) {
      out.push(`${where}: image ${image} is not release ${release}`);
    }
    if (c.imagePullPolicy === 'Always') out.push(`${where}: imagePullPolicy Always defeats pinning`);
  }
  return out;
}
