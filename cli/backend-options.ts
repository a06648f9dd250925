import type { Command } from 'commander';

/**
 * Worker-backend flags shared by `worker` and the embedded `search`: both build a backend from the
 * registry (worker/backends/registry.ts) with these options, so they are declared once.
 */
const FLAGS: readonly (readonly [flag: string, key: string, help: string, fallback?: string])[] = [
  ['--base <file>', 'base', 'trace backend: base reward trace (.npy [prompts, candidates, steps])'],
  ['--narf <file>', 'narf', 'trace backend: noise-aware reward trace of the same shape'],
  ['--step-ms <ms>', 'stepMs', 'trace backend: simulated time of one denoise step of a batch', '0'],
  ['--reward-ms <ms>', 'rewardMs', 'trace backend: simulated time of one reward call on a batch', '0'],
  ['--latent-bytes <n>', 'latentBytes', 'trace backend: simulated latent bytes per exported candidate', '0'],
  ['--max-batch <k>', 'maxBatch', 'largest batch per denoise or reward call', '8'],
  ['--allow-nonfinite', 'allowNonfinite', 'trace backend: replay NaN and infinite rewards (refused otherwise; they rank last)'],
  ['--fault <spec>', 'fault', 'trace backend: inject faults, hang-after=N (calls after the N-th hang), throw=P (each call throws with probability P), seed=S'],
  ['--cost <spec>', 'cost', 'cost per denoise step and reward call (denoise=X,verify=Y; default the backend\'s)'],
  ['--model <dir>', 'model', 'onnx backend: model bundle folder (default models/tiny)'],
  ['--provider <name>', 'provider', 'onnx backend: execution provider (auto | cuda | tensorrt | cpu)'],
  ['--graph-optimization <level>', 'graphOptimization', 'onnx backend: onnxruntime graph optimisation (disabled | basic | extended | all; default all)'],
  ['--ort-cache <dir>', 'ortCache', 'onnx backend: optimised-model cache folder, or off (default $XDG_CACHE_HOME/ttsnap/onnx)'],
  ['--device-id <n>', 'deviceId', 'onnx backend: GPU of the cuda / tensorrt provider (default 0)'],
  ['--score-thread <mode>', 'scoreThread', 'onnx backend: decode and rewards in a second inference thread beside denoising (on | off | auto: on a GPU, or --threads N with 2N <= cores)'],
  ['--tf32 <on|off>', 'tf32', 'onnx backend: TF32 matmuls and convolutions on the GPU (default on; off sets NVIDIA_TF32_OVERRIDE=0)'],
  ['--threads <n>', 'threads', 'onnx backend: intra-op threads'],
  ['--guidance <g>', 'guidance', "onnx backend: classifier-free guidance scale (default: the bundle's)"],
  ['--steps <n>', 'steps', "onnx backend: sampling steps (default: the bundle's)"],
  ['--negative-prompt <text>', 'negativePrompt', "onnx backend: negative prompt (default: the bundle's)"],
  ['--missing-variant <mode>', 'missingVariant', 'onnx backend: a prune point without a noise-aware variant: refuse | base (score with the base reward, warned)'],
];

export function addBackendOptions(cmd: Command): Command {
  for (const [flag, , help, fallback] of FLAGS) {
    if (fallback === undefined) cmd.option(flag, help);
    else cmd.option(flag, help, fallback);
  }
  return cmd;
}

/** The backend options given on the command line, keyed as the registry's factories read them. */
export function backendOptionsFrom(flags: Readonly<Record<string, unknown>>, extraKeys: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of [...FLAGS.map(([, k]) => k), ...extraKeys]) {
    const v = flags[key];
    if (typeof v === 'string') out[key] = v;
    else if (v === true) out[key] = 'true'; // a switch such as --allow-nonfinite
  }
  return out;
}
