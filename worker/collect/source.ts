import { basename, dirname } from 'node:path';
import type { BackendInfo } from '../../core/contract/backend-info.js';
import type { CollectSource } from '../../core/contract/collect.js';
import { ValidationError } from '../../core/errors.js';
import { narfStepsOf } from '../../core/trace/trace-meta.js';
import type { BackendOptions } from '../backend.js';
import { defaultBundleDir } from '../backends/onnx.js';
import { bundleFiles } from '../onnx/bundle.js';
import { fingerprint } from '../onnx/fingerprint.js';
import { loadManifest, MANIFEST_FILE } from '../onnx/manifest.js';

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

/** The source of a backend built from these options (as the registry builds it): its trace files, or its bundle. */
export function collectSourceOf(backend: string, opts: BackendOptions, steps: number, reward: string): CollectSource {
  if (backend === 'trace') {
    if (typeof opts.base !== 'string') throw new ValidationError('--base', 'missing', 'the base trace the trace backend replays');
    return traceSource(opts.base, typeof opts.narf === 'string' ? opts.narf : undefined, reward, steps);
  }
  return bundleSource(typeof opts.model === 'string' ? opts.model : defaultBundleDir(), steps);
}

/** WorkerRuntime's collectSource for a backend built from these options. */
export function sourceOfBackend(backend: string, opts: BackendOptions, info: BackendInfo): () => CollectSource {
  return () => collectSourceOf(backend, opts, info.steps, info.rewards[0] as string);
}
