import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { narfStepsOf } from '../../core/trace/trace-meta.js';
import { bundleFiles } from '../../worker/onnx/bundle.js';
import { loadManifest, MANIFEST_FILE } from '../../worker/onnx/manifest.js';

/** Where collected values come from, and which steps have noise-aware variants per reward. */
export interface CollectSource {
  readonly name: string;
  readonly fingerprint: string;
  readonly variantSteps: Readonly<Record<string, readonly number[]>>;
}

const EDGE = 1 << 20;

/** The files under each path: a folder of the bundle (a tokenizer's) counts by the files in it, recursively. */
function filesUnder(paths: readonly string[]): string[] {
  return paths.flatMap((p) => (statSync(p).isDirectory() ? filesUnder(readdirSync(p).map((f) => join(p, f))) : [p]));
}

/**
 * sha256 over each file's path, size and first and last MiB: it changes when any model is retrained or
 * replaced, and costs milliseconds even for a many-GB bundle (a full hash of FLUX would take minutes).
 */
export function fingerprint(root: string, files: readonly string[]): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(EDGE);
  for (const f of filesUnder(files).sort()) {
    const size = statSync(f).size;
    h.update(`${relative(root, f)}\0${size}\0`);
    const fd = openSync(f, 'r');
    try {
      for (const at of size > 2 * EDGE ? [0, size - EDGE] : [0]) {
        const n = readSync(fd, buf, 0, Math.min(EDGE, size - at), at);
        h.update(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
  }
  return h.digest('hex');
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
