import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendInfo } from '../core/contract/backend-info.js';
import type { BackendOptions, WorkerBackend } from '../worker/backend.js';
import { defaultBundleDir } from '../worker/backends/onnx.js';
import { fingerprint } from '../worker/onnx/fingerprint.js';

/** The files a backend's results depend on: the model bundle, or the trace files it replays. */
function modelFiles(name: string, o: BackendOptions): string[] {
  const paths = name === 'onnx' ? [typeof o.model === 'string' ? o.model : defaultBundleDir()] : [o.base, o.narf].filter((p): p is string => typeof p === 'string');
  return paths.filter((p) => existsSync(p));
}

/**
 * The backend's info with what provenance needs besides: where it runs (cpu | cuda | simulated) and a
 * fingerprint of its files (sha256 of paths, sizes, first and last MiB: milliseconds even for a large bundle).
 */
export function describedInfo(backend: WorkerBackend, name: string, o: BackendOptions): BackendInfo {
  const files = modelFiles(name, o);
  return {
    ...backend.info,
    provider: backend.provider ?? 'simulated',
    ...(files.length > 0 ? { fingerprint: fingerprint(dirname(files[0] as string), files) } : {}),
  };
}
