// Execution providers of a real `ttsnap worker --backend onnx` on this machine, where onnxruntime-node's CUDA
// provider library is not installed (its download is skipped): `--provider cuda` exits non-zero within 30 s with one
// line naming the library that did not load; `--provider auto` serves on the CPU, logs (JSON) that it fell back, and
// its /metrics say provider="cpu" and ready.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, httpGet, ProcGroup, startNats, waitFor } from '../support/procs.js';

const CUDA_LIB = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
const procs = new ProcGroup();

afterAll(() => procs.stopAll());

describe.skipIf(existsSync(CUDA_LIB))('worker execution providers without the CUDA provider library', () => {
  it('--provider cuda exits non-zero within 30 s, naming what did not load', async () => {
    const t0 = performance.now();
    // nothing listens at the coordinator and NATS addresses: the provider fails before either is dialled
    const w = procs.ttsnap('worker-cuda', ['worker', '--backend', 'onnx', '--provider', 'cuda', '--listen', '127.0.0.1:0', '--coordinator', '127.0.0.1:9', '--nats', 'nats://127.0.0.1:9', '--metrics-port', '0']);
    const code = await Promise.race([w.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
    const seconds = (performance.now() - t0) / 1000;
    expect(code).toBe(1);
    expect(seconds).toBeLessThan(30);
    // the start-up notice about plaintext gRPC ("ttsnap worker: gRPC in plaintext ...") is not the failure's line
    const out = w.output().split('\n').slice(1).filter((l) => l.startsWith('ttsnap: '));
    expect(out).toEqual([
      `ttsnap: execution provider cuda cannot load: ${CUDA_LIB} is not installed (onnxruntime-node's CUDA build; the image installs it with ONNXRUNTIME_NODE_INSTALL=cuda12); use --provider auto to fall back to cpu, or --provider cpu`,
    ]);
  }, 40_000);

  it('--provider auto serves on the CPU, says so in its log, and exports provider="cpu"', async () => {
    const tmp = procs.tempDir('ttsnap-provider-');
    const nats = await startNats(join(tmp, 'nats'));
    procs.add(nats.proc);
    const [grpc, wgrpc, wm] = [await freePort(), await freePort(), await freePort()];
    procs.ttsnap('coordinator', ['coordinator', '--listen', `127.0.0.1:${grpc}`, '--nats', nats.url]);
    const w = procs.ttsnap('worker-auto', ['worker', '--backend', 'onnx', '--provider', 'auto', '--listen', `127.0.0.1:${wgrpc}`, '--coordinator', `127.0.0.1:${grpc}`, '--nats', nats.url, '--id', 'gpu-0', '--metrics-port', String(wm)]);
    const body = await waitFor('worker ready on /metrics', async () => {
      const r = await httpGet(`http://127.0.0.1:${wm}/metrics`);
      return r && /^ttsnap_worker_ready 1$/m.test(r.body) ? r.body : undefined;
    }, 60_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${procs.diagnose()}`);
    });
    expect(body).toContain('ttsnap_worker_info{backend="onnx",provider="cpu",bundle="tiny-shapes"} 1');
    const records = w.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.find((r) => String(r.msg).includes('falls back to cpu'))).toMatchObject({ level: 'info', process: 'worker', worker: 'gpu-0' });
    expect(records.find((r) => r.msg === 'worker serving')).toMatchObject({ worker: 'gpu-0', backend: 'onnx', provider: 'cpu', bundle: 'tiny-shapes' });
  }, 90_000);
});
