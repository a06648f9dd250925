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
  it('probes: missing, not gRPC, wrong port, timeout under 5 s', () => {
    expect(probeProblems(coordinator((c) => delete c.readinessProbe))).toEqual(['Deployment/ttsnap-coordinator coordinator: no readinessProbe']);
    expect(probeProblems(coordinator((c) => (c.livenessProbe = { tcpSocket: { port: 7070 }, timeoutSeconds: 5 })))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: livenessProbe is not a grpc.health.v1 (grpc:) probe',
    ]);
    expect(probeProblems(coordinator((c) => (c.startupProbe!.grpc!.port = 7071)))).toEqual([
      'Deployment/ttsnap-coordinator coordinator: startupProbe probes port 7071, the server listens on 7070',
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
