/**
 * Renders a kustomize overlay with the real `kubectl kustomize` (offline) and parses every object it emits.
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

/** `kubectl kustomize deploy/overlays/<name>` parsed into objects; throws with kubectl's message when it fails. */
export function renderOverlay(name: Overlay): KubeObject[] {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', join(REPO, 'deploy', 'overlays', name)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('kubectl not found on PATH: it renders the kustomize overlays offline');
    throw new Error(`kubectl kustomize deploy/overlays/${name} failed: ${e.stderr ?? e.message}`);
  }
  return YAML.parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`overlay ${name}, document ${i}: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as KubeObject;
    if (!obj?.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error(`overlay ${name}, document ${i}: no apiVersion/kind/name`);
    return obj;
  });
}

/** "Kind/name" for messages. */
export const ref = (o: KubeObject): string => `${o.kind}/${o.metadata.name}`;
