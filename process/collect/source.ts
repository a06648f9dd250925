import { basename, dirname } from 'node:path';
import { narfStepsOf } from '../../core/trace/trace-meta.js';
import { bundleFiles } from '../../worker/onnx/bundle.js';
import { fingerprint } from '../../worker/onnx/fingerprint.js';
import { loadManifest, MANIFEST_FILE } from '../../worker/onnx/manifest.js';

/** Where collected values come from, and which steps have noise-aware variants per reward. */
export interface CollectSource {
  readonly name: string;
  readonly fingerprint: string;
  readonly variantSteps: Readonly<Record<string, readonly number[]>>;
}

/** A model bundle: its manifest's name, a fingerprint of its files, and each reward's noise-aware steps (at `steps`, or the manifest's). */
export function bundleSource(dir: string, steps?: number): CollectSource {
  const m = loadManifest(dir);
  // variants are trained for the manifest's sampling steps; at another step count their indices mean other noise levels
  const sameSteps = steps === undefined || steps === m.sampling.steps;
  const variantSteps = Object.fromEntries(
    Object.entries(m.rewards).map(([name, r]) => [name, sameSteps ? Object.keys(r.noise_aware).map(Number).sort((a, b) => a - b) : []]),
  );
  return { name: m.name, fingerprint: fingerprint(dir, [`${dir}/${MANIFEST_FILE}`, ...bundleFiles(dir, m)]), variantSteps };
}

/** A trace replayed by the trace backend: the narf trace's meta.json steps, else every step but the last when a narf file is given. */
export function traceSource(base: string, narf: string | undefined, reward: string, steps: number): CollectSource {
  const name = basename(base).replace(/(_base)?\.npy$/, '');
  const declared = narf ? narfStepsOf(dirname(narf), name) : undefined;
  const variantSteps = narf ? (declared ?? Array.from({ length: steps - 1 }, (_, s) => s)) : [];
  return { name, fingerprint: fingerprint(dirname(base), narf ? [base, narf] : [base]), variantSteps: { [reward]: variantSteps } };
}
