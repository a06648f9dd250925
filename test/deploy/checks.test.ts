// The manifest checks must catch what they claim to: each case breaks one thing in a real rendered object and
// expects exactly the problem that names it (manifests.test.ts then proves the committed overlays have none).
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { tlsProblems } from './tls-checks.js';
import { imageProblems, probeProblems, quantity, resourceProblems, securityProblems } from './pod-checks.js';
import { renderOverlay, type KubeObject } from './render.js';
import { schemaErrors, unknownFieldErrors } from './schema.js';
import { selects, wiringProblems } from './wiring.js';

let base: KubeObject[] = [];
beforeAll(() => {
  base = renderOverlay('cpu-demo');
});

/**
 * A deep copy of the overlay with `edit` applied to one object, typed as the kubernetes-models type of its kind
 * (T); edits that write what the type forbids, on purpose, do it through Object.assign.
 */
function broken<T>(kind: string, name: string, edit: (o: T) => void): { all: KubeObject[]; o: KubeObject } {
  const all = structuredClone(base);
  const o = all.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  edit(o as unknown as T);
  return { all, o };
}
const coordinator = (edit: (c: IContainer, spec: IPodSpec) => void): KubeObject =>
  broken<IDeployment>('Deployment', 'ttsnap-coordinator', (o) => {
    const spec = o.spec!.template.spec!;
    edit(spec.containers[0]!, spec);
  }).o;

describe('pod template checks', () => {
  it('probes: missing, not gRPC, wrong port, on the TLS port, no health port, timeout under 5 s', () => {
    expect(probeProblems(coordinator((c) => delete c.readinessProbe))).toEqual(['Deployment/ttsnap-coordinator coordinator: no readinessProbe']);
    expect(probeProblems(coordinator((c) => (c.livenessProbe = { tcpSocket: { port: 8081 }, timeoutSeconds: 5 })))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: livenessProbe is not a grpc.health.v1 (grpc:) probe',
    ]);
    expect(probeProblems(coordinator((c) => (c.startupProbe!.grpc!.port = 7070)))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: startupProbe probes port 7070, health answers in plaintext on 8081',
    ]);
    const withoutHealth = (c: IContainer) => c.command!.splice(c.command!.indexOf('--health-listen'), 2);
    expect(probeProblems(coordinator(withoutHealth))).toEqual([
      "Deployment/ttsnap-coordinator coordinator: serves TLS without --health-listen, and kubelet's gRPC probes cannot speak TLS",
      'Deployment/ttsnap-coordinator coordinator: startupProbe probes port 8081, health answers in plaintext on 7070',
      'Deployment/ttsnap-coordinator coordinator: readinessProbe probes port 8081, health answers in plaintext on 7070',
      'Deployment/ttsnap-coordinator coordinator: livenessProbe probes port 8081, health answers in plaintext on 7070',
    ]);
    expect(probeProblems(coordinator((c) => (c.command![c.command!.indexOf('--health-listen') + 1] = '0.0.0.0:7070'))).filter((p) => p.includes('share'))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: --health-listen and --listen share port 7070',
    ]);
    expect(probeProblems(coordinator((c) => delete c.livenessProbe!.timeoutSeconds))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: livenessProbe timeoutSeconds 1 is under 5 s',
    ]);
  });

  it('resources: missing limit, request above limit, unparsable quantity', () => {
    expect(resourceProblems(coordinator((c) => delete c.resources!.limits!.memory))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: memory needs both a request and a limit',
    ]);
    expect(resourceProblems(coordinator((c) => (c.resources!.requests!.cpu = '2500m')))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: cpu request 2500m exceeds limit 2',
    ]);
    expect(resourceProblems(coordinator((c) => (c.resources!.limits!.memory = '2 GB')))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: memory 512Mi/2 GB does not parse',
    ]);
    expect([quantity('cpu', '250m'), quantity('cpu', 2), quantity('memory', '1Gi'), quantity('memory', '1G')]).toEqual([0.25, 2, 2 ** 30, 1e9]);
  });

  it('security: root, escalation, capabilities, seccomp', () => {
    expect(securityProblems(coordinator((_c, spec) => (spec.securityContext!.runAsNonRoot = false)))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: runAsNonRoot is not true',
    ]);
    expect(securityProblems(coordinator((_c, spec) => (spec.securityContext!.runAsUser = 0)))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: runAsUser must be a non-zero uid (got 0)',
    ]);
    expect(
      securityProblems(
        coordinator((c, spec) => {
          c.securityContext = {};
          delete spec.securityContext!.seccompProfile;
        }),
      ),
    ).toEqual([
      'Deployment/ttsnap-coordinator coordinator: allowPrivilegeEscalation is not false',
      'Deployment/ttsnap-coordinator coordinator: capabilities do not drop ALL',
      'Deployment/ttsnap-coordinator coordinator: seccompProfile is not RuntimeDefault',
    ]);
  });

  it('images: latest, untagged, wrong release, digest accepted', () => {
    const img = (image: string) => imageProblems(coordinator((c) => (c.image = image)), '0.1.0');
    expect(img('ghcr.io/ttsnap/ttsnap:latest')).toEqual(['Deployment/ttsnap-coordinator coordinator: image ghcr.io/ttsnap/ttsnap:latest uses :latest']);
    expect(img('registry:5000/ttsnap')).toEqual(['Deployment/ttsnap-coordinator coordinator: image registry:5000/ttsnap has no tag']);
    expect(img('ghcr.io/ttsnap/ttsnap:0.0.9')).toEqual(['Deployment/ttsnap-coordinator coordinator: image ghcr.io/ttsnap/ttsnap:0.0.9 is not release 0.1.0']);
    expect(img('ghcr.io/ttsnap/ttsnap:0.1.0-cuda12')).toEqual([]);
    expect(img(`ghcr.io/ttsnap/ttsnap@sha256:${'a'.repeat(64)}`)).toEqual([]);
  });
});

describe('mutual TLS checks', () => {
  const worker = (edit: (s: IStatefulSet) => void) => broken<IStatefulSet>('StatefulSet', 'ttsnap-worker', edit).all;
  const coordinatorAll = (edit: (d: IDeployment) => void) => broken<IDeployment>('Deployment', 'ttsnap-coordinator', edit).all;
  const W = 'StatefulSet/ttsnap-worker worker';
  const C = 'Deployment/ttsnap-coordinator coordinator';

  it('the committed cpu-demo overlay has none of these problems', () => {
    expect(tlsProblems(base)).toEqual([]);
  });

  it('certificate volumes: writable mount, mode wider than 0440, a Secret no Certificate makes, a missing flag', () => {
    expect(tlsProblems(coordinatorAll((d) => delete d.spec!.template.spec!.containers[0]!.volumeMounts!.find((m) => m.name === 'tls')!.readOnly))).toEqual(
      ['--tls-cert /etc/ttsnap/tls/tls.crt', '--tls-key /etc/ttsnap/tls/tls.key', '--tls-ca /etc/ttsnap/tls/ca.crt', '--nats-tls-ca /etc/ttsnap/tls/ca.crt', '--nats-tls-cert /etc/ttsnap/tls/tls.crt', '--nats-tls-key /etc/ttsnap/tls/tls.key'].map(
        (f) => `${C}: ${f}: /etc/ttsnap/tls is not mounted readOnly`,
      ).concat(["StatefulSet/ttsnap-worker worker: dials the coordinator as ttsnap-coordinator, which its certificate does not carry", 'Job/ttsnap-search search: dials the coordinator as ttsnap-coordinator, which its certificate does not carry']),
    );
    const mode = tlsProblems(coordinatorAll((d) => (d.spec!.template.spec!.volumes!.find((v) => v.name === 'tls')!.secret!.defaultMode = 0o644)));
    expect(mode[0]).toBe(`${C}: --tls-cert /etc/ttsnap/tls/tls.crt: volume tls: defaultMode 0644 allows more than 0440`);
    const secret = tlsProblems(broken<IJob>('Job', 'ttsnap-search', (j) => (j.spec!.template.spec!.volumes!.find((v) => v.name === 'tls')!.secret!.secretName = 'handmade')).all);
    expect(secret).toEqual(['--tls-cert /etc/ttsnap/tls/tls.crt', '--tls-key /etc/ttsnap/tls/tls.key', '--tls-ca /etc/ttsnap/tls/ca.crt'].map((f) => `Job/ttsnap-search search: ${f}: volume tls: Secret handmade is not a rendered cert-manager Certificate's`));
    const noCa = tlsProblems(coordinatorAll((d) => d.spec!.template.spec!.containers[0]!.command!.splice(d.spec!.template.spec!.containers[0]!.command!.indexOf('--tls-ca'), 2)));
    expect(noCa).toEqual([`${C}: no --tls-ca`]);
  });

  it('workers: a writable CSI volume, advertising the pod IP, a name the certificate lacks, another identity', () => {
    const csi = (s: IStatefulSet) => s.spec!.template.spec!.volumes!.find((v) => v.name === 'tls')!.csi!;
    expect(tlsProblems(worker((s) => (csi(s).readOnly = false)))[0]).toBe(`${W}: --tls-cert /etc/ttsnap/tls/tls.crt: volume tls: the CSI volume is not readOnly`);
    const argv = (s: IStatefulSet) => s.spec!.template.spec!.containers[0]!.command!;
    expect(tlsProblems(worker((s) => (argv(s)[argv(s).indexOf('--advertise') + 1] = '$(POD_IP):7070')))).toEqual([
      `${W}: advertises $(POD_IP), which its certificate ($(POD_NAME).ttsnap-worker.$(POD_NAMESPACE).svc, $(POD_NAME).ttsnap-worker.$(POD_NAMESPACE).svc.cluster.local) does not carry`,
      `${W}: advertises the pod IP, not a name its certificate can carry`,
    ]);
    expect(tlsProblems(worker((s) => (csi(s).volumeAttributes!['csi.cert-manager.io/uri-sans'] = 'spiffe://ttsnap/client/${POD_NAME}')))).toEqual([
      `${W}: the certificate's URI SANs ["spiffe://ttsnap/client/$(POD_NAME)"] lack spiffe://ttsnap/worker/$(POD_NAME)`,
    ]);
  });

  it('a Service routing to the plaintext health port; NATS without verify_and_map', () => {
    const svc = broken<IService>('Service', 'ttsnap-coordinator', (s) => s.spec!.ports!.push({ name: 'health', port: 8081, targetPort: 'health' })).all;
    expect(tlsProblems(svc)).toEqual(['Service/ttsnap-coordinator: exposes the plaintext health port 8081 of Deployment/ttsnap-coordinator']);
    const conf = broken<IConfigMap>('ConfigMap', 'nats-config', (c) => (c.data!['nats.conf'] = c.data!['nats.conf']!.replace('verify_and_map: true', 'verify: true'))).all;
    expect(tlsProblems(conf)).toEqual(['ConfigMap/nats-config: the client tls block does not verify_and_map client certificates']);
  });
});

describe('schema and wiring checks', () => {
  it('schema: a wrong type and an API version with no schema', async () => {
    const { o } = broken<IDeployment>('Deployment', 'ttsnap-coordinator', (d) => {
      Object.assign(d.spec!, { replicas: 'one' });
    });
    const errors = await schemaErrors(o);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^Deployment\/ttsnap-coordinator: .*replicas must be integer/);
    const pdb = broken<IPodDisruptionBudget>('PodDisruptionBudget', 'ttsnap-worker', (p) => Object.assign(p, { apiVersion: 'policy/v9' })).o;
    expect(await schemaErrors(pdb)).toEqual(['PodDisruptionBudget/ttsnap-worker: no schema for policy/v9 PodDisruptionBudget']);
    // cert-manager's CRD schema: a key size that is not an integer, a usage outside its enum
    const cert = broken<ICertificate>('Certificate', 'ttsnap-coordinator', (c) => Object.assign(c.spec.privateKey!, { size: 'large' })).o;
    expect(await schemaErrors(cert)).toEqual([expect.stringMatching(/^Certificate\/ttsnap-coordinator: .*size must be integer/)]);
    const usage = broken<ICertificate>('Certificate', 'ttsnap-coordinator', (c) => Object.assign(c.spec, { usages: ['server-auth'] })).o;
    expect(await schemaErrors(usage)).toEqual([expect.stringMatching(/^Certificate\/ttsnap-coordinator: .*usages.* must be equal to one of the allowed values/)]);
  });

  it('unknown fields: a misspelt field at any depth, in core objects and operator CRDs', () => {
    const a = broken<IStatefulSet>('StatefulSet', 'ttsnap-worker', (s) => Object.assign(s.spec!.template.spec!.containers[0]!, { readinesProbe: {} })).o;
    const b = broken<IPodMonitor>('PodMonitor', 'ttsnap-worker', (p) => Object.assign(p.spec, { podMetricEndpoints: [] })).o;
    const errors = unknownFieldErrors([a, b]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^StatefulSet\/ttsnap-worker: .*'"readinesProbe"' does not exist in type 'IContainer'/);
    expect(errors[1]).toMatch(/^PodMonitor\/ttsnap-worker: .*'"podMetricEndpoints"' does not exist/);
  }, 120_000);

  it('wiring: a selector that selects nothing, a missing port, a metrics port that disagrees', () => {
    expect(wiringProblems(broken<IService>('Service', 'ttsnap-coordinator', (s) => (s.spec!.selector!['app.kubernetes.io/name'] = 'coordinator')).all)).toEqual([
      'Service/ttsnap-coordinator: selector matches no pod',
    ]);
    expect(wiringProblems(broken<INetworkPolicy>('NetworkPolicy', 'worker', (n) => (n.spec!.egress![1]!.ports![0]!.port = 4223)).all)).toEqual([
      'NetworkPolicy/worker: egress to StatefulSet/nats port 4223, which it does not expose',
    ]);
    expect(
      wiringProblems(broken<IStatefulSet>('StatefulSet', 'ttsnap-worker', (s) => (s.spec!.template.metadata!.annotations!['prometheus.io/port'] = '9090')).all),
    ).toEqual(['StatefulSet/ttsnap-worker worker: --metrics-listen port 9464 but prometheus.io/port is 9090']);
    expect(wiringProblems(broken<IDeployment>('Deployment', 'ttsnap-coordinator', (d) => (d.spec!.template.spec!.terminationGracePeriodSeconds = 300)).all)).toEqual([
      'Deployment/ttsnap-coordinator coordinator: terminationGracePeriodSeconds 300 does not exceed --drain-timeout-s 300',
    ]);
    expect(wiringProblems(broken<IPodDisruptionBudget>('PodDisruptionBudget', 'ttsnap-worker', (p) => delete p.spec!.unhealthyPodEvictionPolicy).all)).toEqual([
      'PodDisruptionBudget/ttsnap-worker: unhealthyPodEvictionPolicy is not AlwaysAllow',
    ]);
    // an autoscaled StatefulSet with a replicas field (the gpu overlay has the HPA)
    const gpu = renderOverlay('gpu');
    const workers = gpu.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'ttsnap-worker') as unknown as IStatefulSet;
    workers.spec!.replicas = 4;
    expect(wiringProblems(gpu)).toEqual(['HorizontalPodAutoscaler/ttsnap-worker: target StatefulSet/ttsnap-worker sets replicas, which every apply resets']);
    expect(selects({ matchExpressions: [{ key: 'a', operator: 'In', values: ['x', 'y'] }] }, { a: 'y' })).toBe(true);
    expect(selects({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, { a: 'y' })).toBe(false);
  });
});
