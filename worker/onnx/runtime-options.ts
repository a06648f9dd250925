import { arch, cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { ValidationError } from '../../core/errors.js';

/** Execution provider asked for: `auto` tries cuda and falls back to cpu; `tensorrt` is TensorRT with CUDA for the nodes it leaves. */
export type Provider = 'cpu' | 'cuda' | 'tensorrt' | 'auto';
/** The provider a session runs on. */
export type ActiveProvider = Exclude<Provider, 'auto'>;
export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * onnxruntime settings chosen on purpose (flags of `worker` and `search`; defaults in brackets).
 * cuDNN's convolution algorithm search is not among them: onnxruntime-node 1.30 forwards only `deviceId` to the
 * CUDA and TensorRT providers (js/node/src/session_options_helper.cc), so it stays onnxruntime's EXHAUSTIVE.
 */
export interface OrtRuntime {
  /** graph optimisation level [all] (--graph-optimization) */
  readonly graphOptimization: GraphOptimization;
  /** optimised-model cache folder, or null for none [~/.cache/ttsnap/onnx] (--ort-cache DIR | off) */
  readonly cacheDir: string | null;
  /** GPU the CUDA / TensorRT provider runs on [0] (--device-id) */
  readonly deviceId: number;
  /** TF32 matmuls and convolutions on Ampere and later [true]; false sets NVIDIA_TF32_OVERRIDE=0 for the process (--tf32 off) */
  readonly tf32: boolean;
}

export const DEFAULT_RUNTIME: OrtRuntime = { graphOptimization: 'all', cacheDir: null, deviceId: 0, tf32: true };

const LEVELS: readonly GraphOptimization[] = ['disabled', 'basic', 'extended', 'all'];

export function parseGraphOptimization(raw: string, flag = '--graph-optimization'): GraphOptimization {
  if ((LEVELS as readonly string[]).includes(raw)) return raw as GraphOptimization;
  throw new ValidationError(flag, `got '${raw}'`, LEVELS.join(' | '));
}

/**
 * The onnxruntime session options of one provider: graph optimisation level, threads (one inter-op thread: the
 * graphs here are sequential), and the execution providers in order of preference with the device id.
 */
export function ortSessionOptions(provider: ActiveProvider, threads: number, rt: OrtRuntime): ort.InferenceSession.SessionOptions {
  const eps: ort.InferenceSession.ExecutionProviderConfig[] =
    provider === 'cpu' ? ['cpu'] : provider === 'cuda' ? [{ name: 'cuda', deviceId: rt.deviceId }] : [{ name: 'tensorrt', deviceId: rt.deviceId }, { name: 'cuda', deviceId: rt.deviceId }];
  return {
    executionProviders: eps,
    graphOptimizationLevel: rt.graphOptimization,
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  };
}

/**
 * What an optimised model depends on besides its source files: the onnxruntime version, the provider and device,
 * the level, and (cpu) the processor, whose instruction set picks the NCHWc layout the optimiser writes.
 */
export function optimisationContext(provider: ActiveProvider, rt: OrtRuntime): string {
  const hw = provider === 'cpu' ? `${arch()} ${cpus()[0]?.model ?? 'unknown cpu'}` : `device ${rt.deviceId}`;
  return `onnxruntime ${ort.env.versions.node ?? ort.env.versions.common} | ${provider} | ${hw} | ${rt.graphOptimization}`;
}
