import { parentPort, workerData } from 'node:worker_threads';
import type { AdvanceItem, CandidateSpec } from '../backend.js';
import type { CandidateKey } from '../../core/contract/candidates.js';
import type { RewardSpec } from '../../core/contract/backend-info.js';
import { bundleCost } from './bundle-cost.js';
import { OnnxPipeline, type PipelineOptions } from './pipeline.js';
import { serializeError, type PipelineInfo, type ThreadMessage, type ThreadRequest } from './protocol.js';

/**
 * The inference thread: onnxruntime-node's session.run blocks the thread it runs on, so the pipeline lives
 * here and the main thread's event loop stays free for gRPC, NATS and metrics. Requests are served one at a
 * time in arrival order (the backend contract serialises them anyway).
 */
const port = parentPort;
if (!port) throw new Error('worker/onnx/thread.js must run as a worker thread');
const post = (m: ThreadMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

const pipeline = await OnnxPipeline.load(workerData as PipelineOptions, (line) => post({ type: 'log', line })).catch((err: unknown) => {
  post({ type: 'error', id: 0, error: serializeError(err) });
  return null;
});

if (pipeline) {
  const m = pipeline.bundle.manifest;
  const cost = costOf(pipeline);
  const info: PipelineInfo = {
    model: m.name,
    dir: pipeline.bundle.dir,
    provider: pipeline.bundle.provider,
    steps: pipeline.steps,
    maxBatch: (workerData as PipelineOptions).maxBatch,
    rewards: Object.keys(m.rewards),
    defaultRewards: m.default_rewards,
    guidance: pipeline.guidance,
    cost,
    image: m.image,
  };
  post({ type: 'ready', info });
  let queue = Promise.resolve();
  port.on('message', (req: ThreadRequest) => {
    queue = queue.then(() => serve(pipeline, req));
  });
}

/** The manifest's cost, or (when it says 0) the cost computed from the graphs, as `models cost` would write it. */
function costOf(p: OnnxPipeline): PipelineInfo['cost'] {
  const m = p.bundle.manifest;
  if (m.cost.denoise > 0) return { unit: m.cost.unit, denoise: m.cost.denoise, verify: m.cost.verify };
  const c = bundleCost(p.bundle.dir, p.guidance);
  post({ type: 'log', line: `onnx: ttsnap.json has no cost; from the graphs: denoise ${c.denoise.toExponential(4)} TFLOPs/step, verify ${Object.entries(c.verify).map(([k, v]) => `${k} ${v.toExponential(4)}`).join(', ')} TFLOPs/call` });
  return { unit: c.unit, denoise: c.denoise, verify: c.verify };
}

async function serve(p: OnnxPipeline, req: ThreadRequest): Promise<void> {
  try {
    const a = req.args;
    let value: unknown;
    const transfer: ArrayBuffer[] = [];
    switch (req.op) {
      case 'create':
        value = await p.create(a[0] as CandidateSpec[]);
        break;
      case 'advance':
        value = await p.advance(a[0] as AdvanceItem[]);
        break;
      case 'score': {
        const keys = a[0] as CandidateKey[];
        // a[2]: also return the decoded images the rewards saw (contact sheet previews)
        const previews = a[2] === true ? new Float32Array(keys.length * p.imageSize) : undefined;
        const scores = await p.score(keys, a[1] as RewardSpec[], undefined, previews);
        transfer.push(...scores.map((s) => s.buffer as ArrayBuffer));
        if (previews) transfer.push(previews.buffer);
        value = previews ? { scores, previews } : scores;
        break;
      }
      case 'images': {
        const img = (await p.images(a[0] as CandidateKey[])).slice();
        transfer.push(img.buffer);
        value = img;
        break;
      }
      case 'export':
        value = p.exportState(a[0] as CandidateKey);
        break;
      case 'import':
        value = await p.importState(a[0] as CandidateKey, a[1] as Uint8Array);
        break;
      case 'release':
        value = p.release(a[0] as CandidateKey[]);
        break;
      case 'close':
        value = await p.close();
        break;
    }
    post({ type: 'result', id: req.id, value }, transfer);
  } catch (err) {
    post({ type: 'error', id: req.id, error: serializeError(err) });
  }
}
