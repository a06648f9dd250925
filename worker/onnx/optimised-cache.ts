import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { fingerprint } from './fingerprint.js';
import { optimisationContext, type ActiveProvider, type OrtRuntime } from './runtime-options.js';

/** The cache entry of a graph: DIR/<key>/model.onnx (+ model.onnx.data, the weights). */
export function cacheEntry(file: string, provider: ActiveProvider, rt: OrtRuntime & { cacheDir: string }): string {
  const folder = dirname(file);
  const key = createHash('sha256').update(`${fingerprint(folder, [folder])}\0${basename(file)}\0${optimisationContext(provider, rt)}`).digest('hex').slice(0, 32);
  return join(rt.cacheDir, key);
}

/**
 * Opens `file` through the optimised-model cache. onnxruntime optimises a graph every time a session opens it
 * (for a many-GB UNet, a large part of the start); with a cache folder, the first start saves the optimised
 * graph under a key of the model's files (fingerprint of its folder: sizes and first and last MiB), the
 * onnxruntime version, the provider and device, the level and the processor, and later starts load that with
 * optimisation off. The entry is written in a private folder and renamed into place, so concurrent starts never
 * see half a file; an entry that does not load is rebuilt. TensorRT compiles its own engines (nodes onnxruntime
 * cannot save), so it is never cached here; a cache folder that cannot be written is said once and skipped.
 */
export async function createThroughCache(file: string, options: ort.InferenceSession.SessionOptions, provider: ActiveProvider, rt: OrtRuntime, log: (line: string) => void): Promise<ort.InferenceSession> {
  if (rt.cacheDir === null || provider === 'tensorrt' || rt.graphOptimization === 'disabled') return ort.InferenceSession.create(file, options);
  const entry = cacheEntry(file, provider, { ...rt, cacheDir: rt.cacheDir });
  const cached = join(entry, 'model.onnx');
  if (existsSync(cached)) {
    try {
      return await ort.InferenceSession.create(cached, { ...options, graphOptimizationLevel: 'disabled' });
    } catch (err) {
      log(`onnx: optimised-model cache entry ${entry} for ${file} does not load (${String(err).split('\n')[0]}); optimising again`);
      rmSync(entry, { recursive: true, force: true });
    }
  }
  let tmp: string;
  try {
    mkdirSync(rt.cacheDir, { recursive: true });
    tmp = mkdtempSync(join(rt.cacheDir, '.writing-'));
  } catch (err) {
    warnOnce(log, `onnx: optimised-model cache ${rt.cacheDir} cannot be written (${String(err).split('\n')[0]}); graphs are optimised at each start`);
    return ort.InferenceSession.create(file, options);
  }
  try {
    const session = await ort.InferenceSession.create(file, {
      ...options,
      optimizedModelFilePath: join(tmp, 'model.onnx'),
      // weights beside the graph: a many-GB model cannot be one protobuf (2 GiB limit); the hardware-specific layout
      // warning is expected (the key holds the processor and provider); fatal-only logging for this session
      logSeverityLevel: 3,
      extra: { session: { optimized_model_external_initializers_file_name: 'model.onnx.data', optimized_model_external_initializers_min_size_in_bytes: '1024' } },
    });
    try {
      renameSync(tmp, entry);
      log(`onnx: optimised ${file} and cached it in ${entry}`);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another start cached it first
    }
    return session;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

const warned = new Set<string>();
function warnOnce(log: (line: string) => void, line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  log(line);
}
