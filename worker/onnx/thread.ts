import { parentPort, workerData } from 'node:worker_threads';
import { decoderTakesSizes, samplingLimits } from './candidate-sampling.js';
import type { AdvanceItem, CandidateSpec } from '../backend.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import { bundleCost } from './bundle-cost.js';
import { OnnxPipeline, type PipelineOptions } from './pipeline.js';
import { serializeError, type PipelineInfo, type ThreadMessage, type ThreadRequest } from './protocol.js';
import { imageFloats, Scorer, type ScoreRows } from './scorer.js';

/**
 * An inference thread: onnxruntime-node's session.run blocks the thread it runs on, so the models live here
 * and the main thread's event loop stays free for gRPC, NATS and metrics. Requests are served one at a time in
 * arrival order. Role `pipeline` (default): the candidates' latents, text encoders and denoiser (and decode
 * and rewards too unless a score thread has them); role `scorer`: the VAE decoder and rewards, scoring latents
 * the pipeline thread handed out, so that decode and reward calls overlap denoising.
 */
export interface ThreadData extends PipelineOptions {
  readonly role?: 'pipeline' | 'scorer';
}

const port = parentPort;
if (!port) throw new Error('worker/onnx/thread.js must run as a worker thread');
const post = (m: ThreadMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const data = workerData as ThreadData;
const log = (line: string): void => post({ type: 'log', line });
const failed = (err: unknown): null => {
  post({ type: 'error', id: 0, error: serializeError(err) });
  return null;
};

if (data.role === 'scorer') {
  const scorer = await Scorer.load(data, log).catch(failed);
  if (scorer) {
    post({ type: 'ready', info: null, decoderTakesSizes: decoderTakesSizes(scorer.side.decoder) });
    listen((req) => serveScorer(scorer, req));
  }
} else {
  const pipeline = await OnnxPipeline.load(data, log).catch(failed);
  if (pipeline) {
    const m = pipeline.bundle.manifest;
    const info: PipelineInfo = {
      model: m.name,
      dir: pipeline.bundle.dir,
      provider: pipeline.bundle.provider,
      steps: pipeline.steps,
      maxBatch: data.maxBatch,
      rewards: Object.keys(m.rewards),
      defaultRewards: m.default_rewards,
      guidance: pipeline.guidance,
      cost: costOf(pipeline),
      image: m.image,
      sampling: samplingLimits(pipeline.bundle, pipeline.defaults, pipeline.sizes),
    };
    post({ type: 'ready', info });
    listen((req) => servePipeline(pipeline, req));
  }
}

function listen(serve: (req: ThreadRequest) => Promise<{ value: unknown; transfer?: ArrayBuffer[] }>): void {
  let queue = Promise.resolve();
  (port as NonNullable<typeof port>).on('message', (req: ThreadRequest) => {
    queue = queue.then(async () => {
      try {
        const { value, transfer } = await serve(req);
        post({ type: 'result', id: req.id, value }, transfer);
      } catch (err) {
        post({ type: 'error', id: req.id, error: serializeError(err) });
      }
    });
  });
}

/** The manifest's cost, or (when it says 0) the cost computed from the graphs, as `models cost` would write it. */
function costOf(p: OnnxPipeline): PipelineInfo['cost'] {
  const m = p.bundle.manifest;
  if (m.cost.denoise > 0) return { unit: m.cost.unit, denoise: m.cost.denoise, verify: m.cost.verify };
  const c = bundleCost(p.bundle.dir, p.guidance);
  log(`onnx: ttsnap.json has no cost; from the graphs: denoise ${c.denoise.toExponential(4)} TFLOPs/step, verify ${Object.entries(c.verify).map(([k, v]) => `${k} ${v.toExponential(4)}`).join(', ')} TFLOPs/call`);
  return { unit: c.unit, denoise: c.denoise, verify: c.verify };
}

/** Scores, and with `withPreviews` the decoded images the rewards saw, moved (not copied) to the host. */
async function scored(run: (previews?: Float32Array) => Promise<Float64Array[]>, imageFloats: number, withPreviews: boolean): Promise<{ value: unknown; transfer: ArrayBuffer[] }> {
  const previews = withPreviews ? new Float32Array(imageFloats) : undefined;
  const scores = await run(previews);
  const transfer = scores.map((s) => s.buffer as ArrayBuffer);
  if (previews) transfer.push(previews.buffer);
  return { value: previews ? { scores, previews } : scores, transfer };
}

async function servePipeline(p: OnnxPipeline, req: ThreadRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  const a = req.args;
  switch (req.op) {
    case 'create':
      return { value: await p.create(a[0] as CandidateSpec[]) };
    case 'advance':
      return { value: await p.advance(a[0] as AdvanceItem[]) };
    case 'score': {
      const keys = a[0] as CandidateKey[];
      // a[2]: also return the decoded images the rewards saw (contact sheet previews)
      return scored((previews) => p.score(keys, a[1] as RewardSpec[], undefined, previews), p.imageFloats(keys), a[2] === true);
    }
    case 'scoreRows': {
      const rows = p.scoreRows(a[0] as CandidateKey[]);
      return { value: rows, transfer: [rows.latents.buffer as ArrayBuffer] };
    }
    case 'images': {
      const img = (await p.images(a[0] as CandidateKey[])).slice();
      return { value: img, transfer: [img.buffer] };
    }
    case 'export':
      return { value: p.exportState(a[0] as CandidateKey) };
    case 'import':
      return { value: await p.importState(a[0] as CandidateKey, a[1] as Uint8Array) };
    case 'release':
      return { value: p.release(a[0] as CandidateKey[]) };
    case 'close':
      return { value: await p.close() };
    default:
      throw new Error(`the pipeline thread does not serve ${req.op}`);
  }
}

async function serveScorer(s: Scorer, req: ThreadRequest): Promise<{ value: unknown; transfer?: ArrayBuffer[] }> {
  const a = req.args;
  switch (req.op) {
    case 'scoreLatents': {
      const rows = a[0] as ScoreRows;
      return scored((previews) => s.score(rows, a[1] as RewardSpec[], undefined, previews), imageFloats(rows.sizes), a[2] === true);
    }
    case 'decodeLatents': {
      const rows = a[0] as ScoreRows;
      const img = (await s.decode(rows.latents, rows.sizes)).slice();
      return { value: img, transfer: [img.buffer] };
    }
    case 'close':
      return { value: await s.close() };
    default:
      throw new Error(`the score thread does not serve ${req.op}`);
  }
}
