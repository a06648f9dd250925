import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
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
 * see half a file; an entry that does not load is rebuilt, and private folders that a start killed while writing
 * left behind are removed (sweepAbandoned). TensorRT compiles its own engines (nodes onnxruntime
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
    sweepAbandoned(rt.cacheDir, log);
    tmp = mkdtempSync(join(rt.cacheDir, `${WRITING}${hostname()}-${process.pid}-`));
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

/** Prefix of a start's private folder: .writing-<host>-<pid>-<random> (the host: several pods share one cache volume). */
const WRITING = '.writing-';
/** A private folder untouched this long is abandoned whoever wrote it (a pid of another host cannot be checked). */
export const ABANDONED_AFTER_MS = 24 * 3600_000;

/**
 * Removes the private folders of starts that died while writing (kill -9 during the optimisation of a UNet leaves
 * gigabytes): those of this host whose process is gone, and any untouched for ABANDONED_AFTER_MS. A folder being
 * written by a live process, here or elsewhere, is left alone. Says what it removed; never fails the start.
 */
export function sweepAbandoned(cacheDir: string, log: (line: string) => void, now = Date.now()): void {
  const host = hostname();
  let names: string[];
  try {
    names = readdirSync(cacheDir).filter((n) => n.startsWith(WRITING));
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^(.+)-(\d+)-[^-]+$/.exec(name.slice(WRITING.length));
    const dead = m?.[1] === host && !alive(Number(m[2]));
    const path = join(cacheDir, name);
    try {
      if (!dead && now - statSync(path).mtimeMs < ABANDONED_AFTER_MS) continue;
      rmSync(path, { recursive: true, force: true });
      log(`onnx: removed ${path}, left by a start that ${dead ? `died (pid ${m?.[2]})` : 'has not written for a day'} while caching an optimised graph`);
    } catch {
      // gone meanwhile (another start swept it), or not ours to remove: left as it is
    }
  }
}

/** Whether a process of this host is alive (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err instanceof Error && 'code' in err && err.code === 'EPERM';
  }
}

const warned = new Set<string>();
function warnOnce(log: (line: string) => void, line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  log(line);
}
