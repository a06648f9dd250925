/**
 * Renders the kustomize overlays with the real `kubectl kustomize` (offline) and parses every object they emit.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { IObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OVERLAYS = ['cpu-demo', 'gpu'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** One rendered Kubernetes object: the type meta every object has, the rest checked by the schemas. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: IObjectMeta & { name: string };
  [field: string]: unknown;
}

/**
 * What one deploys for a cluster kind: the cluster overlay (`deploy/overlays/<name>`) and its example search Job
 * overlay (`deploy/overlays/<name>-search`), rendered with the real `kubectl kustomize` and parsed into objects.
 */
export function renderOverlay(name: Overlay): KubeObject[] {
  return [...renderKustomization(name), ...renderKustomization(`${name}-search`)];
}

/** `kubectl kustomize deploy/overlays/<dir>` parsed into objects; throws with kubectl's message when it fails. */
export function renderKustomization(dir: string): KubeObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', join(REPO, 'deploy', 'overlays', dir)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl not found on PATH: it renders the kustomize overlays offline');
    throw new Error(`kubectl kustomize deploy/overlays/${dir} failed: ${e.stderr ?? e.message}`);
  }
  return YAML.parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`overlay ${dir}, document ${i}: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as KubeObject;
    if (!obj?.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error(`overlay ${dir}, document ${i}: no apiVersion/kind/name`);
    return obj;
  });
}

/** "Kind/name" for messages. */
export const ref = (o: KubeObject): string => `${o.kind}/${o.metadata.name}`;
