import type { WorkerHandlers } from '../core/generated/ttsnap/v1/Worker.js';
import { MAX_WORKER_MESSAGE, workerProto } from '../core/grpc/load.js';
import { unary } from '../core/grpc/status.js';
import { serve, type ServeOptions, type ServingServer } from '../core/grpc/serve.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { checkJobId as jobId, checkLatentState, checkRef as one, checkRefs as refs, checkRewardRefs, checkStep, checkTakeCandidates } from '../core/security/requests.js';
import { infoToProto } from '../core/contract/backend-info.js';
import { collectSourceToProto } from '../core/contract/collect.js';
import { checkCollectScores } from './collect/check.js';
import type { WorkerRuntime } from './runtime.js';

/** The Worker gRPC service over a WorkerRuntime. */
export function workerHandlers(rt: WorkerRuntime, metrics: MetricsSink = NO_METRICS): WorkerHandlers {
  return {
    Capacity: unary('Capacity', metrics, null, () => {
      const s = rt.status();
      return { worker: rt.id, info: infoToProto(s.info), live: s.live, queued: s.queued, busy_s: s.busySeconds };
    }),
    Take: unary('Take', metrics, null, async (req) => {
      await rt.take(jobId(req.job), checkTakeCandidates(req.candidates));
      return { live: rt.liveCandidates };
    }),
    Advance: unary('Advance', metrics, null, (req) => {
      const rewards = checkRewardRefs(req.rewards);
      return { queued: rt.advance(jobId(req.job), checkStep(req.to_step), refs(req.candidates), rewards) };
    }),
    Release: unary('Release', metrics, null, (req) => ({ released: rt.release(jobId(req.job), refs(req.candidates)) })),
    ExportLatent: unary('ExportLatent', metrics, null, async (req) => {
      const { state, step } = await rt.exportLatent(jobId(req.job), one(req.candidate), req.release);
      return { state: Buffer.from(state.buffer, state.byteOffset, state.byteLength), step };
    }),
    ImportLatent: unary('ImportLatent', metrics, null, async (req) => ({ step: await rt.importLatent(jobId(req.job), one(req.candidate), checkLatentState(req.state)) })),
    Holdings: unary('Holdings', metrics, null, () => ({ held: rt.holdings() })),
    Render: unary('Render', metrics, null, async (req) => {
      const png = await rt.render(jobId(req.job), one(req.candidate));
      return { png: Buffer.from(png.buffer, png.byteOffset, png.byteLength) };
    }),
    CollectScores: unary('CollectScores', metrics, null, async (req) => {
      const c = checkCollectScores(req, rt.info, rt.collectSource());
      return { values: Array.from(await rt.collect(c.job, c.specs, c.plan, c.fingerprint)) };
    }),
    CollectSource: unary('CollectSource', metrics, null, () => collectSourceToProto(rt.collectSource(), rt.info)),
  };
}

/** Starts the Worker service and grpc.health.v1 on `address` (HOST:PORT, port 0 = any), with TLS and authorisation when given. */
export async function startWorkerServer(rt: WorkerRuntime, address: string, metrics: MetricsSink = NO_METRICS, opts: ServeOptions = {}): Promise<ServingServer> {
  return serve(workerProto().ttsnap.v1.Worker.service, workerHandlers(rt, metrics), 'ttsnap.v1.Worker', MAX_WORKER_MESSAGE, address, opts);
}
