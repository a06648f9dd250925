// Every overlay renders with the real `kubectl kustomize`, every object passes its API schema offline (and has no
// field the API does not define), and every pod template passes our rules: probes, limits, non-root, pinned images.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { flagValue, imageProblems, podTemplate, probeProblems, resourceProblems, securityProblems, TTSNAP_IMAGE } from './pod-checks.js';
import { OVERLAYS, REPO, ref, renderOverlay, type KubeObject, type Overlay } from './render.js';
import { schemaErrors, unknownFieldErrors } from './schema.js';
import { tlsProblems } from './tls-checks.js';
import { wiringProblems } from './wiring.js';

const release = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const rendered = new Map<Overlay, KubeObject[]>();
const objects = (name: Overlay): KubeObject[] => rendered.get(name) ?? [];
const kinds = (name: Overlay): string[] => [...new Set(objects(name).map((o) => o.kind))].sort();
const one = (name: Overlay, kind: string, objName: string): KubeObject => {
  const o = objects(name).find((x) => x.kind === kind && x.metadata.name === objName);
  if (!o) throw new Error(`${name}: no ${kind}/${objName}`);
  return o;
};
const containers = (o: KubeObject) => podTemplate(o)?.spec?.containers ?? [];

beforeAll(() => {
  for (const name of OVERLAYS) rendered.set(name, renderOverlay(name));
});

describe.each(OVERLAYS)('overlay %s', (name) => {
  it('renders every object the system needs', () => {
    const common = ['Certificate', 'ConfigMap', 'Deployment', 'Issuer', 'Job', 'Namespace', 'NetworkPolicy', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'PodMonitor', 'PrometheusRule', 'Service', 'ServiceAccount', 'ServiceMonitor', 'StatefulSet'];
    expect(kinds(name)).toEqual(name === 'gpu' ? [...common, 'HorizontalPodAutoscaler'].sort() : common);
    expect(objects(name).filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'ttsnap').map(ref)).toEqual([]);
  });

  it('every object passes its API schema (kubernetes-models / prometheus-operator / cert-manager validators)', async () => {
    const errors = (await Promise.all(objects(name).map(schemaErrors))).flat();
    expect(errors).toEqual([]);
  });

  it('every pod template: probes, requests and limits, non-root, pinned images', () => {
    const workloads = objects(name).filter((o) => podTemplate(o));
    expect(workloads.map(ref).sort()).toEqual(['Deployment/ttsnap-coordinator', 'Job/ttsnap-search', 'StatefulSet/nats', 'StatefulSet/ttsnap-worker']);
    const problems = workloads.flatMap((o) => [...probeProblems(o), ...resourceProblems(o), ...securityProblems(o), ...imageProblems(o, release)]);
    expect(problems).toEqual([]);
  });

  it('selectors, ports, volumes and the metrics port are wired consistently', () => {
    expect(wiringProblems(objects(name))).toEqual([]);
  });

  it('mutual TLS by default: cert-manager identities per role on read-only volumes, dialed names in the certificates, NATS mapping certificates to users', () => {
    expect(tlsProblems(objects(name))).toEqual([]);
    // self-signed bootstrap -> CA certificate -> CA Issuer -> the identities
    expect(one(name, 'Issuer', 'ttsnap-selfsigned').spec).toEqual({ selfSigned: {} });
    expect(one(name, 'Certificate', 'ttsnap-ca').spec).toMatchObject({ isCA: true, secretName: 'ttsnap-ca', issuerRef: { name: 'ttsnap-selfsigned' } });
    expect(one(name, 'Issuer', 'ttsnap-ca').spec).toEqual({ ca: { secretName: 'ttsnap-ca' } });
    const certs = objects(name).filter((o) => o.kind === 'Certificate' && o.metadata.name !== 'ttsnap-ca');
    expect(certs.map((c) => [c.metadata.name, (c.spec as { uris?: string[] }).uris ?? [], (c.spec as { issuerRef: { name: string } }).issuerRef.name])).toEqual([
      ['nats', [], 'ttsnap-ca'],
      ['ttsnap-coordinator', ['spiffe://ttsnap/coordinator/ttsnap-coordinator'], 'ttsnap-ca'],
      ['ttsnap-search', ['spiffe://ttsnap/client/ttsnap-search'], 'ttsnap-ca'],
    ]);
    const csi = podTemplate(one(name, 'StatefulSet', 'ttsnap-worker'))?.spec?.volumes?.find((v) => v.name === 'tls')?.csi;
    expect(csi?.volumeAttributes?.['csi.cert-manager.io/uri-sans']).toBe('spiffe://ttsnap/worker/${POD_NAME}');
    expect((one(name, 'Service', 'ttsnap-worker').spec as { publishNotReadyAddresses?: boolean }).publishNotReadyAddresses).toBe(true);
  });

  it('NATS users: the coordinator and one user per worker the overlay can run, each worker publishing only under its own subject', () => {
    const auth = (one(name, 'ConfigMap', 'nats-auth').data as Record<string, string>)['auth.conf'] ?? '';
    const users = [...auth.matchAll(/user: "([^"]+)", permissions: \{ publish: \{ allow: \[([^\]]*)\] \}/g)].map((m) => [m[1], m[2]]);
    const hpa = objects(name).find((o) => o.kind === 'HorizontalPodAutoscaler');
    const workers = hpa ? (hpa.spec as { maxReplicas: number }).maxReplicas : (one(name, 'StatefulSet', 'ttsnap-worker').spec as { replicas: number }).replicas;
    expect(users).toEqual([
      ['spiffe://ttsnap/coordinator/ttsnap-coordinator', '"ttsnap.journal.>", "$JS.>", "$O.ttsnap_results.>", "_INBOX.>"'],
      ...Array.from({ length: workers }, (_, i) => [`spiffe://ttsnap/worker/ttsnap-worker-${i}`, `"ttsnap.scores.ttsnap-worker-${i}.>"`]),
    ]);
    expect(workers).toBe(name === 'gpu' ? 16 : 3);
  });

  it('runs the coordinator, workers and search client from the ttsnap image with the documented commands', () => {
    const argv = (o: KubeObject) => containers(o).map((c) => [...(c.command ?? []), ...(c.args ?? [])]);
    const [coord] = argv(one(name, 'Deployment', 'ttsnap-coordinator'));
    const [worker] = argv(one(name, 'StatefulSet', 'ttsnap-worker'));
    const [search] = argv(one(name, 'Job', 'ttsnap-search'));
    const tls = ['--tls-cert', '/etc/ttsnap/tls/tls.crt', '--tls-key', '/etc/ttsnap/tls/tls.key', '--tls-ca', '/etc/ttsnap/tls/ca.crt'];
    const natsTls = ['--nats-tls-ca', '/etc/ttsnap/tls/ca.crt', '--nats-tls-cert', '/etc/ttsnap/tls/tls.crt', '--nats-tls-key', '/etc/ttsnap/tls/tls.key'];
    const health = ['--health-listen', '0.0.0.0:8081'];
    expect(coord).toEqual([
      'node', '/app/dist/cli/main.js', 'coordinator', '--listen', '0.0.0.0:7070', '--nats', 'nats://nats:4222', '--metrics-listen', '$(POD_IP):9464', '--drain-timeout-s', '300',
      ...tls, ...health, ...natsTls, ...(name === 'gpu' ? ['--nats-replicas', '3'] : []),
    ]);
    expect(worker?.slice(0, 29)).toEqual([
      'node', '/app/dist/cli/main.js', 'worker', '--listen', '0.0.0.0:7070', '--advertise', '$(POD_NAME).ttsnap-worker.$(POD_NAMESPACE).svc:7070', '--id', '$(POD_NAME)',
      '--coordinator', 'ttsnap-coordinator:7070', '--nats', 'nats://nats:4222', '--metrics-listen', '$(POD_IP):9464', ...tls, ...health, ...natsTls,
    ]);
    expect(worker?.slice(29, 31)).toEqual(['--backend', name === 'gpu' ? 'onnx' : 'trace']);
    expect(worker?.slice(-2)).toEqual(['--drain-timeout-s', name === 'gpu' ? '300' : '60']);
    expect(search?.slice(0, 16)).toEqual(['node', '/app/dist/cli/main.js', 'search', '--coordinator', 'ttsnap-coordinator:7070', '--json', '--request-id', '$(JOB_NAME)', '--out', '/out/$(JOB_NAME)', ...tls]);
    const images = objects(name).flatMap(containers).map((c) => c.image);
    expect(images.filter((i) => i?.startsWith(TTSNAP_IMAGE)).length).toBe(3);
  });
});

describe('overlay specifics', () => {
  it('has no field that the Kubernetes or operator API types do not define', () => {
    const errors = OVERLAYS.flatMap((name) => unknownFieldErrors(objects(name)).map((e) => `${name}: ${e}`));
    expect(errors).toEqual([]);
  }, 120_000);

  it('gpu: one nvidia.com/gpu per worker, GPU nodes only, CUDA image, models from a read-only volume', () => {
    const w = one('gpu', 'StatefulSet', 'ttsnap-worker');
    const spec = podTemplate(w)?.spec;
    const [c] = containers(w);
    expect(c?.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(c?.resources?.requests?.['nvidia.com/gpu']).toBe('1');
    expect(c?.image).toBe(`${TTSNAP_IMAGE}:${release}-cuda12`);
    expect(spec?.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(spec?.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(c?.volumeMounts?.find((m) => m.name === 'models')).toEqual({ name: 'models', mountPath: '/models', readOnly: true });
    expect(one('gpu', 'PersistentVolumeClaim', 'ttsnap-models').spec).toMatchObject({ accessModes: ['ReadOnlyMany'] });
    // only workers get a GPU and the CUDA image
    const others = objects('gpu').filter((o) => podTemplate(o) && o !== w).flatMap(containers);
    expect(others.filter((x) => x.resources?.limits?.['nvidia.com/gpu'] !== undefined || x.image?.endsWith('-cuda12'))).toEqual([]);
  });

  it('gpu: the autoscaler scales the workers on the ttsnap_queue_depth external metric and alone sets their count', () => {
    expect(one('gpu', 'HorizontalPodAutoscaler', 'ttsnap-worker').spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'ttsnap-worker' },
      metrics: [{ type: 'External', external: { metric: { name: 'ttsnap_queue_depth' } } }],
    });
    expect((one('gpu', 'StatefulSet', 'ttsnap-worker').spec as { replicas?: number }).replicas).toBeUndefined();
    expect((one('cpu-demo', 'StatefulSet', 'ttsnap-worker').spec as { replicas?: number }).replicas).toBe(3);
  });

  it('gpu: workers are Guaranteed (requests = limits) with a grace period that outlasts the drain by a real batch, and --provider cuda', () => {
    const w = one('gpu', 'StatefulSet', 'ttsnap-worker');
    const [c] = containers(w);
    expect(c?.resources?.requests).toEqual(c?.resources?.limits);
    expect(c?.resources?.limits).toEqual({ cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1' });
    const grace = podTemplate(w)?.spec?.terminationGracePeriodSeconds ?? 30;
    expect(grace - Number(flagValue(c ?? { name: '' }, '--drain-timeout-s'))).toBeGreaterThanOrEqual(300);
    expect(flagValue(c ?? { name: '' }, '--provider')).toBe('cuda');
    // 15 minutes to load a large bundle; 10 s probe timeouts
    expect((c?.startupProbe?.periodSeconds ?? 0) * (c?.startupProbe?.failureThreshold ?? 0)).toBe(900);
    expect([c?.startupProbe?.timeoutSeconds, c?.readinessProbe?.timeoutSeconds, c?.livenessProbe?.timeoutSeconds]).toEqual([10, 10, 10]);
    expect(containers(one('gpu', 'Deployment', 'ttsnap-coordinator'))[0]?.livenessProbe).toMatchObject({ timeoutSeconds: 10, failureThreshold: 6 });
  });

  it('NATS: a 3-server JetStream cluster with routes, fsync stated, a disruption budget and an exporter on gpu; one server on cpu-demo', () => {
    const conf = (name: Overlay) => (one(name, 'ConfigMap', 'nats-config').data as Record<string, string>)['nats.conf'] ?? '';
    const sts = (name: Overlay) => one(name, 'StatefulSet', 'nats');
    expect((sts('gpu').spec as { replicas: number }).replicas).toBe(3);
    expect((sts('cpu-demo').spec as { replicas: number }).replicas).toBe(1);
    expect(conf('gpu').match(/nats:\/\/nats-\d\.nats:6222/g)).toEqual(['nats://nats-0.nats:6222', 'nats://nats-1.nats:6222', 'nats://nats-2.nats:6222']);
    expect(conf('cpu-demo')).not.toContain('cluster {');
    for (const name of OVERLAYS) {
      expect(conf(name)).toMatch(/^\s*sync_interval: always$/m);
      expect(containers(sts(name)).map((c) => c.name)).toEqual(['nats', 'exporter']);
    }
    expect(one('gpu', 'PodDisruptionBudget', 'nats').spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
    expect(objects('cpu-demo').some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'nats')).toBe(false);
    expect(one('gpu', 'PodMonitor', 'nats').spec).toMatchObject({ podMetricsEndpoints: [{ port: 'metrics' }] });
    // the journal and the results keep as many copies as there are servers, else the cluster protects nothing
    for (const name of OVERLAYS) {
      const coordinator = containers(one(name, 'Deployment', 'ttsnap-coordinator'))[0] ?? { name: '' };
      expect(Number(flagValue(coordinator, '--nats-replicas') ?? 1)).toBe((sts(name).spec as { replicas: number }).replicas);
    }
  });

  it('search Job: retries only exit 4 and crashes, ignores disruptions, has a deadline, writes --out to a claim', () => {
    for (const name of OVERLAYS) {
      const job = one(name, 'Job', 'ttsnap-search');
      const spec = job.spec as { activeDeadlineSeconds?: number; backoffLimit: number; podFailurePolicy: { rules: unknown[] } };
      expect(spec.podFailurePolicy.rules).toEqual([
        { action: 'FailJob', onExitCodes: { containerName: 'search', operator: 'In', values: [1, 2, 3, 5] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ]);
      expect(spec.activeDeadlineSeconds).toBe(name === 'gpu' ? 86_400 : 3_600);
      expect(podTemplate(job)?.spec?.restartPolicy).toBe('Never');
      const volumes = podTemplate(job)?.spec?.volumes ?? [];
      expect(volumes.find((v) => v.name === 'out')?.persistentVolumeClaim?.claimName).toBe('ttsnap-search-out');
      expect(containers(job)[0]?.volumeMounts?.find((m) => m.name === 'out')?.mountPath).toBe('/out');
    }
  });

  it('every alert of the rendered PrometheusRule links its runbook', () => {
    for (const name of OVERLAYS) {
      const rules = (one(name, 'PrometheusRule', 'ttsnap').spec as { groups: { rules: { alert?: string; annotations?: Record<string, string> }[] }[] }).groups.flatMap((g) => g.rules);
      const alerts = rules.filter((r) => r.alert);
      expect(alerts.length).toBe(12);
      for (const a of alerts) expect(a.annotations?.runbook_url, a.alert).toMatch(/deploy\/README\.md#ttsnap[a-z]+$/);
    }
  });

  it('cpu-demo: no GPU anywhere, trace workers read the traces volume', () => {
    const all = objects('cpu-demo').flatMap(containers);
    expect(all.filter((c) => JSON.stringify(c.resources ?? {}).includes('nvidia.com/gpu'))).toEqual([]);
    const [c] = containers(one('cpu-demo', 'StatefulSet', 'ttsnap-worker'));
    expect(c?.args?.slice(0, 6)).toEqual(['--backend', 'trace', '--base', '/traces/flux_pic_base.npy', '--narf', '/traces/flux_pic_narf.npy']);
    expect(c?.volumeMounts?.find((m) => m.name === 'traces')).toEqual({ name: 'traces', mountPath: '/traces', readOnly: true });
  });

  it('network: everything denied by default, only ttsnap pods and Prometheus let in', () => {
    for (const name of OVERLAYS) {
      const deny = one(name, 'NetworkPolicy', 'default-deny');
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
      const peers = objects(name)
        .filter((o) => o.kind === 'NetworkPolicy')
        .flatMap((o) => ((o.spec as { ingress?: { from?: unknown[] }[] }).ingress ?? []).flatMap((r) => r.from ?? []));
      // no ipBlock, no bare namespaceSelector: each peer is a ttsnap pod or Prometheus' pods in its namespace
      expect(peers.every((p) => JSON.stringify(p).includes('app.kubernetes.io/name'))).toBe(true);
      expect(JSON.stringify(peers)).not.toContain('ipBlock');
      // DNS through kube-dns pods or NodeLocal DNSCache's link-local address
      const dns = (one(name, 'NetworkPolicy', 'allow-dns').spec as { egress: { to: { ipBlock?: { cidr: string } }[] }[] }).egress[0]?.to ?? [];
      expect(dns.map((p) => p.ipBlock?.cidr).filter(Boolean)).toEqual(['169.254.20.10/32']);
    }
  });
});
