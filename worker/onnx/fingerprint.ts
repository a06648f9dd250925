import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const EDGE = 1 << 20;

/** The files under each path: a folder (a tokenizer's, a model's with its external data) counts by the files in it, recursively. */
function filesUnder(paths: readonly string[]): string[] {
  return paths.flatMap((p) => (statSync(p).isDirectory() ? filesUnder(readdirSync(p).map((f) => join(p, f))) : [p]));
}

/**
 * sha256 over each file's path (relative to root), size and first and last MiB: it changes when any model is
 * retrained or replaced, and costs milliseconds even for a many-GB bundle (a full hash of FLUX would take minutes).
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
