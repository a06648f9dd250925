import { ValidationError } from '../core/errors.js';
import type { WorkerHandlers } from '../core/generated/ttsnap/v1/Worker.js';
import type { CandidateRef__Output } from '../core/generated/ttsnap/v1/CandidateRef.js';
import { MAX_WORKER_MESSAGE, workerProto } from '../core/grpc/load.js';
import { unary } from '../core/grpc/status.js';
import { serve, type ServingServer } from '../core/grpc/serve.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { TOKEN } from '../core/bus/score-bus.js';
import { infoToProto } from '../core/contract/backend-info.js';
import type { CandidateRef } from '../core/contract/candidates.js';
import type { WorkerRuntime } from './runtime.js';

/** Most candidates one Take/Advance/Release call may name. */
const MAX_REFS = 4096;

function jobId(job: string): string {
  if (!TOKEN.test(job)) throw new ValidationError('job', `got '${job.slice(0, 80)}'`, 'a job id of 1-64 characters [A-Za-z0-9_-]');
  return job;
}

function refs(list: readonly CandidateRef__Output[], field = 'candidates'): CandidateRef[] {
  if (list.length > MAX_REFS) throw new ValidationError(field, `${list.length} entries`, `at most ${MAX_REFS}`);
  return list.map((r) => ({ prompt: r.prompt, candidate: r.candidate }));
}

function one(ref: CandidateRef__Output | null, field = 'candidate'): CandidateRef {
  if (!ref) throw new ValidationError(field, 'missing', 'a candidate reference');
  return { prompt: ref.prompt, candidate: ref.candidate };
}

/** The Worker gRPC service over a WorkerRuntime. */
export function workerHandlers(rt: WorkerRuntime, metrics: MetricsSink = NO_METRICS): WorkerHandlers {
  return {
    Capacity: unary('Capacity', metrics, null, () => {
      const s = rt.status();
      return { worker: rt.id, info: infoToProto(s.info), live: s.live, queued: s.queued, busy_s: s.busySeconds };
    }),
    Take: unary('Take', metrics, null, async (req) => {
      const list = req.candidates;
      if (list.length > MAX_REFS) throw new ValidationError('candidates', `${list.length} entries`, `at most ${MAX_REFS}`);
      await rt.take(jobId(req.job), list.map((c) => ({ prompt: c.prompt, candidate: c.candidate, seed: c.seed, text: c.text })));
      return { live: rt.liveCandidates };
    }),
    Advance: unary('Advance', metrics, null, (req) => {
      if (req.rewards.length === 0) throw new ValidationError('rewards', 'empty', 'at least one reward');
      const rewards = req.rewards.map((r) => ({ name: r.name, noiseAware: r.noise_aware }));
      return { queued: rt.advance(jobId(req.job), req.to_step, refs(req.candidates), rewards) };
    }),
    Release: unary('Release', metrics, null, (req) => ({ released: rt.release(jobId(req.job), refs(req.candidates)) })),
    ExportLatent: unary('ExportLatent', metrics, null, async (req) => {
      const { state, step } = await rt.exportLatent(jobId(req.job), one(req.candidate), req.release);
      return { state: Buffer.from(state.buffer, state.byteOffset, state.byteLength), step };
    }),
    ImportLatent: unary('ImportLatent', metrics, null, async (req) => ({ step: await rt.importLatent(jobId(req.job), one(req.candidate), req.state) })),
    Render: unary('Render', metrics, null, async (req) => {
      const png = await rt.render(jobId(req.job), one(req.candidate));
      return { png: Buffer.from(png.buffer, png.byteOffset, png.byteLength) };
    }),
  };
}

/** Starts the Worker service and grpc.health.v1 on `address` (HOST:PORT, port 0 = any). */
export async function startWorkerServer(rt: WorkerRuntime, address: string, metrics: MetricsSink = NO_METRICS): Promise<ServingServer> {
  return serve(workerProto().ttsnap.v1.Worker.service, workerHandlers(rt, metrics), 'ttsnap.v1.Worker', MAX_WORKER_MESSAGE, address);
}
