import * as grpc from '@grpc/grpc-js';
import type { AdvanceRequest__Output } from '../core/generated/ttsnap/v1/AdvanceRequest.js';
import type { ReleaseRequest__Output } from '../core/generated/ttsnap/v1/ReleaseRequest.js';
import type { TakeRequest__Output } from '../core/generated/ttsnap/v1/TakeRequest.js';
import type { WorkerBatchOp__Output } from '../core/generated/ttsnap/v1/WorkerBatchOp.js';
import type { WorkerBatchRequest__Output } from '../core/generated/ttsnap/v1/WorkerBatchRequest.js';
import type { WorkerBatchOutcome } from '../core/generated/ttsnap/v1/WorkerBatchOutcome.js';
import type { WorkerHandlers } from '../core/generated/ttsnap/v1/Worker.js';
import { MAX_WORKER_MESSAGE, workerProto } from '../core/grpc/load.js';
import { toServiceError, unary } from '../core/grpc/status.js';
import { serve, type ServeOptions, type ServingServer } from '../core/grpc/serve.js';
import { NO_METRICS, type MetricsSink } from '../core/metrics/sink.js';
import { checkJobId as jobId, checkLatentState, checkRef as one, checkRefs as refs, checkRewardRefs, checkStep, checkTakeCandidates } from '../core/security/requests.js';
import { ValidationError } from '../core/errors.js';
import { infoToProto } from '../core/contract/backend-info.js';
import { collectSourceToProto, tweedieChunkToProto } from '../core/contract/collect.js';
import type { CollectScoresPart } from '../core/generated/ttsnap/v1/CollectScoresPart.js';
import type { CollectScoresRequest__Output } from '../core/generated/ttsnap/v1/CollectScoresRequest.js';
import { checkCollectScores } from './collect/check.js';
import type { WorkerRuntime } from './runtime.js';
import { BatchAnswers } from './batch-answers.js';

/** The Worker gRPC service over a WorkerRuntime. */
export function workerHandlers(rt: WorkerRuntime, metrics: MetricsSink = NO_METRICS): WorkerHandlers {
  return {
    Capacity: unary('Capacity', metrics, null, () => {
      const s = rt.status();
      return { worker: rt.id, info: infoToProto(s.info), live: s.live, queued: s.queued, busy_s: s.busySeconds };
    }),
    Take: unary('Take', metrics, null, async (req) => ({ live: await take(rt, req) })),
    Advance: unary('Advance', metrics, null, (req) => ({ queued: advance(rt, req) })),
    Release: unary('Release', metrics, null, (req) => ({ released: release(rt, req) })),
    Batch: (call) => {
      // requests apply one after another, in the order they came (a Take before the Advance that follows it)
      let last: Promise<void> = Promise.resolve();
      const open = (): boolean => !call.cancelled && !call.destroyed;
      const answers = new BatchAnswers((res) => {
        if (!open()) return;
        call.write(res);
        // a keepalive answers no request: it says nothing of the coordinator being there (worker-process.ts)
        if (res.id !== 0) rt.noteAnswer();
      });
      call.on('data', (req: WorkerBatchRequest__Output) => {
        last = last.then(async () => {
          const outcomes: WorkerBatchOutcome[] = [];
          for (const op of req.ops) outcomes.push(await batchOp(rt, op));
          answers.answer(req.id, outcomes, req.answer_failures);
        });
      });
      // while this stream is open the worker's heartbeats travel on it (process/worker-process.ts)
      const forget = rt.addKeepalive(() => open() && (answers.keepalive(rt.busySeconds), true));
      // at once: the coordinator learns that it may send candidates grouped by prompt
      answers.keepalive(rt.busySeconds);
      call.on('end', () => void last.then(() => (answers.flush(), call.end())));
      call.on('close', () => {
        forget();
        answers.stop();
      });
      call.on('error', () => undefined); // the coordinator went away: nothing to answer
    },
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
      if (c.plan.saveTweedie.length > 0) throw new ValidationError('save_tweedie', `${c.plan.saveTweedie.length} steps in CollectScores`, 'none (CollectScoresStream sends images)');
      return { values: Array.from(await rt.collect(c.job, c.specs, c.plan, c.fingerprint)) };
    }),
    CollectScoresStream: (call) => collectScoresStream(rt, call),
    CollectSource: unary('CollectSource', metrics, null, () => collectSourceToProto(rt.collectSource(), rt.info)),
  };
}

/**
 * CollectScores with the Tweedie images: each piece written as it is decoded, the next one after the stream has
 * drained (a slow coordinator holds the batch back instead of piling images up here), the values last.
 */
function collectScoresStream(rt: WorkerRuntime, call: grpc.ServerWritableStream<CollectScoresRequest__Output, CollectScoresPart>): void {
  let gone = false;
  // a write waiting for drain when the coordinator goes away fails, so that the batch is released
  let stalled: ((err: Error) => void) | null = null;
  call.on('cancelled', () => {
    gone = true;
    stalled?.(new Error('the coordinator went away'));
  });
  const send = (part: CollectScoresPart): Promise<void> => {
    if (gone) return Promise.reject(new Error('the coordinator went away'));
    if (call.write(part)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      stalled = reject;
      call.once('drain', () => {
        stalled = null;
        resolve();
      });
    });
  };
  Promise.resolve()
    .then(async () => {
      const c = checkCollectScores(call.request, rt.info, rt.collectSource());
      const values = await rt.collect(c.job, c.specs, c.plan, c.fingerprint, (chunk) => send({ tweedie: tweedieChunkToProto(chunk) }));
      await send({ values: { values: Array.from(values) } });
      call.end();
    })
    .catch((err: unknown) => {
      if (!gone) call.emit('error', toServiceError(err));
    });
}

async function take(rt: WorkerRuntime, req: TakeRequest__Output): Promise<number> {
  await rt.take(jobId(req.job), checkTakeCandidates(req.candidates, req.prompts));
  return rt.liveCandidates;
}

function advance(rt: WorkerRuntime, req: AdvanceRequest__Output): number {
  const rewards = checkRewardRefs(req.rewards);
  return rt.advance(jobId(req.job), checkStep(req.to_step), refs(req.candidates, req.groups), rewards, req.previews);
}

function release(rt: WorkerRuntime, req: ReleaseRequest__Output): number {
  return rt.release(jobId(req.job), refs(req.candidates, req.groups));
}

/** Runs one op of a Batch; a failure is its outcome (the status the op alone would have failed with), not the call's. */
async function batchOp(rt: WorkerRuntime, op: WorkerBatchOp__Output): Promise<WorkerBatchOutcome> {
  try {
    if (op.take) await take(rt, op.take);
    else if (op.advance) advance(rt, op.advance);
    else if (op.release) release(rt, op.release);
    else throw new ValidationError('ops[].op', 'is empty', 'take, advance or release');
    return { code: grpc.status.OK, error: '', details: '' };
  } catch (err) {
    const se = toServiceError(err);
    return { code: se.code ?? grpc.status.INTERNAL, error: err instanceof Error ? err.name : 'Error', details: se.details ?? '' };
  }
}

/** Starts the Worker service and grpc.health.v1 on `address` (HOST:PORT, port 0 = any), with TLS and authorisation when given. */
export async function startWorkerServer(rt: WorkerRuntime, address: string, metrics: MetricsSink = NO_METRICS, opts: ServeOptions = {}): Promise<ServingServer> {
  return serve(workerProto().ttsnap.v1.Worker.service, workerHandlers(rt, metrics), 'ttsnap.v1.Worker', MAX_WORKER_MESSAGE, address, opts);
}
