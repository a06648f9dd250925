/**
 * Cross-object checks that no schema can make: every selector selects something, every named port exists on the
 * pods behind it, every volume's claim or ConfigMap is rendered, the autoscaler's target exists and leaves the
 * count to it, disruption budgets let unhealthy pods go, and the metrics port agrees between the --metrics-listen
 * flag, the container port and the scrape annotations.
 */
import type { ILabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import { flagValue, podTemplate } from './pod-checks.js';
import { ref, type KubeObject } from './render.js';

type Labels = Record<string, string>;

/** Kubernetes label-selector semantics (matchLabels and matchExpressions); an empty selector selects everything. */
export function selects(sel: ILabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const v = labels[e.key];
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(v ?? '') :
      e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(v ?? '') :
      e.operator === 'Exists' ? has :
      e.operator === 'DoesNotExist' ? !has : false;
    if (!ok) return false;
  }
  return true;
}

interface Pod {
  owner: KubeObject;
  labels: Labels;
  ports: IContainerPort[];
}

function pods(objects: readonly KubeObject[]): Pod[] {
  return objects.flatMap((o) => {
    const t = podTemplate(o);
    if (!t) return [];
    return [{ owner: o, labels: (t.metadata?.labels ?? {}) as Labels, ports: (t.spec?.containers ?? []).flatMap((c) => c.ports ?? []) }];
  });
}

const hasPort = (p: Pod, port: string | number): boolean =>
  p.ports.some((cp) => (typeof port === 'number' ? cp.containerPort === port : cp.name === port));

interface ServiceSpec {
  selector?: Labels;
  ports?: { name?: string; port: number; targetPort?: string | number }[];
}
interface PolicyPeer {
  podSelector?: ILabelSelector;
  namespaceSelector?: ILabelSelector;
}
interface PolicyRule {
  from?: PolicyPeer[];
  to?: PolicyPeer[];
  ports?: { port?: number | string }[];
}

/** Every problem found in the wiring of one rendered overlay. */
export function wiringProblems(objects: readonly KubeObject[]): string[] {
  const all = pods(objects);
  const out: string[] = [];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const selected = (sel: ILabelSelector) => all.filter((p) => selects(sel, p.labels));

  for (const s of byKind('Service')) {
    const spec = s.spec as ServiceSpec;
    const targets = selected({ matchLabels: spec.selector ?? {} });
    if (targets.length === 0) out.push(`${ref(s)}: selector matches no pod`);
    for (const port of spec.ports ?? []) {
      const tp = port.targetPort ?? port.port;
      for (const p of targets) if (!hasPort(p, tp)) out.push(`${ref(s)}: ${ref(p.owner)} has no container port ${tp}`);
    }
  }
  for (const pdb of byKind('PodDisruptionBudget')) {
    const spec = pdb.spec as { selector: ILabelSelector; unhealthyPodEvictionPolicy?: string };
    if (selected(spec.selector).length === 0) out.push(`${ref(pdb)}: selector matches no pod`);
    // the default (IfHealthyBudget) lets a crash-looping pod block every node drain
    if (spec.unhealthyPodEvictionPolicy !== 'AlwaysAllow') out.push(`${ref(pdb)}: unhealthyPodEvictionPolicy is not AlwaysAllow`);
  }
  for (const np of byKind('NetworkPolicy')) {
    const spec = np.spec as { podSelector: ILabelSelector; ingress?: PolicyRule[]; egress?: PolicyRule[] };
    const targets = selected(spec.podSelector);
    if (targets.length === 0) out.push(`${ref(np)}: podSelector matches no pod`);
    for (const rule of spec.ingress ?? []) {
      for (const peer of rule.from ?? []) {
        // peers in other namespaces (Prometheus, DNS) are not rendered here
        if (peer.podSelector && !peer.namespaceSelector && selected(peer.podSelector).length === 0) out.push(`${ref(np)}: ingress peer matches no pod`);
      }
      for (const { port } of rule.ports ?? []) {
        for (const p of targets) {
          if (port !== undefined && !hasPort(p, port) && !(rule.from ?? []).some((f) => f.namespaceSelector)) out.push(`${ref(np)}: ${ref(p.owner)} has no port ${port}`);
        }
      }
    }
    for (const rule of spec.egress ?? []) {
      for (const peer of rule.to ?? []) {
        if (!peer.podSelector || peer.namespaceSelector) continue;
        const dest = selected(peer.podSelector);
        if (dest.length === 0) out.push(`${ref(np)}: egress peer matches no pod`);
        for (const { port } of rule.ports ?? []) for (const p of dest) if (port !== undefined && !hasPort(p, port)) out.push(`${ref(np)}: egress to ${ref(p.owner)} port ${port}, which it does not expose`);
      }
    }
  }
  for (const sm of byKind('ServiceMonitor')) {
    const spec = sm.spec as { selector: ILabelSelector; endpoints: { port?: string }[] };
    const svcs = byKind('Service').filter((s) => selects(spec.selector, s.metadata.labels ?? {}));
    if (svcs.length === 0) out.push(`${ref(sm)}: selector matches no Service`);
    for (const e of spec.endpoints) for (const s of svcs) if (!(s.spec as ServiceSpec).ports?.some((p) => p.name === e.port)) out.push(`${ref(sm)}: ${ref(s)} has no port named ${e.port}`);
  }
  for (const pm of byKind('PodMonitor')) {
    const spec = pm.spec as { selector: ILabelSelector; podMetricsEndpoints: { port?: string }[] };
    const targets = selected(spec.selector);
    if (targets.length === 0) out.push(`${ref(pm)}: selector matches no pod`);
    for (const e of spec.podMetricsEndpoints) for (const p of targets) if (e.port && !hasPort(p, e.port)) out.push(`${ref(pm)}: ${ref(p.owner)} has no port named ${e.port}`);
  }
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const t = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
    const target = objects.find((o) => o.kind === t.kind && o.metadata.name === t.name);
    if (!target) out.push(`${ref(hpa)}: target ${t.kind}/${t.name} is not rendered`);
    // the autoscaler owns the count: a replicas field is reset on every apply (scaling GPU workers down mid-job)
    else if ((target.spec as { replicas?: number }).replicas !== undefined) out.push(`${ref(hpa)}: target ${ref(target)} sets replicas, which every apply resets`);
  }
  for (const o of objects) {
    const t = podTemplate(o);
    if (!t) continue;
    const claims = new Set([
      ...byKind('PersistentVolumeClaim').map((c) => c.metadata.name),
      ...((o.spec as { volumeClaimTemplates?: { metadata: { name: string } }[] }).volumeClaimTemplates ?? []).map((c) => c.metadata.name),
    ]);
    const configMaps = new Set(byKind('ConfigMap').map((c) => c.metadata.name));
    const volumes = new Set((t.spec?.volumes ?? []).map((v) => v.name));
    for (const v of t.spec?.volumes ?? []) {
      if (v.persistentVolumeClaim && !claims.has(v.persistentVolumeClaim.claimName)) out.push(`${ref(o)}: claim ${v.persistentVolumeClaim.claimName} is not rendered`);
      if (v.configMap && !configMaps.has(v.configMap.name ?? '')) out.push(`${ref(o)}: ConfigMap ${v.configMap.name} is not rendered`);
    }
    for (const c of t.spec?.containers ?? []) {
      // a drain that outlives the grace period is cut short by SIGKILL
      const drain = flagValue(c, '--drain-timeout-s');
      const grace = t.spec?.terminationGracePeriodSeconds ?? 30;
      if (drain !== undefined && !(grace > Number(drain))) out.push(`${ref(o)} ${c.name}: terminationGracePeriodSeconds ${grace} does not exceed --drain-timeout-s ${drain}`);
      for (const m of c.volumeMounts ?? []) if (!volumes.has(m.name) && !claims.has(m.name)) out.push(`${ref(o)} ${c.name}: mounts unknown volume ${m.name}`);
      // metrics: the flag (its port), the named container port and the scrape annotation must agree; a loopback
      // address (the CLI's default with --metrics-port) would be unreachable for Prometheus
      const listen = flagValue(c, '--metrics-listen');
      const flagName = listen !== undefined ? '--metrics-listen' : '--metrics-port';
      const flag = listen?.replace(/^.*:/, '') ?? flagValue(c, '--metrics-port');
      if (flag === undefined) continue;
      if (listen === undefined || /^(127\.|localhost|\[::1\])/.test(listen)) out.push(`${ref(o)} ${c.name}: /metrics on loopback; give --metrics-listen $(POD_IP):PORT`);
      const port = c.ports?.find((p) => p.name === 'metrics')?.containerPort;
      const annotation = t.metadata?.annotations?.['prometheus.io/port'];
      if (String(port) !== flag) out.push(`${ref(o)} ${c.name}: ${flagName} port ${flag} but container port "metrics" is ${port}`);
      if (annotation !== flag) out.push(`${ref(o)} ${c.name}: ${flagName} port ${flag} but prometheus.io/port is ${annotation}`);
      if (t.metadata?.annotations?.['prometheus.io/scrape'] !== 'true') out.push(`${ref(o)}: no prometheus.io/scrape annotation`);
    }
  }
  return out;
}
