import type { ActiveProvider } from './runtime-options.js';
import type { SamplingLimits__Output } from '../../core/generated/ttsnap/v1/SamplingLimits.js';
import { BadFileError, ValidationError } from '../../core/errors.js';

/**
 * Messages between the inference host (main thread) and its inference threads: the pipeline thread (all ops
 * but the last two) and, with a score thread, that one (scoreLatents, decodeLatents, close).
 */
export type ThreadOp = 'create' | 'advance' | 'score' | 'scoreRows' | 'images' | 'export' | 'import' | 'release' | 'close' | 'scoreLatents' | 'decodeLatents';

export interface ThreadRequest {
  readonly id: number;
  readonly op: ThreadOp;
  readonly args: readonly unknown[];
}

/** What the host learns when the thread has loaded the bundle. */
export interface PipelineInfo {
  readonly model: string;
  readonly dir: string;
  readonly provider: ActiveProvider;
  readonly steps: number;
  readonly maxBatch: number;
  readonly rewards: readonly string[];
  readonly defaultRewards: readonly string[];
  readonly guidance: number;
  readonly cost: { readonly unit: string; readonly denoise: number; readonly verify: Readonly<Record<string, number>> };
  readonly image: { readonly height: number; readonly width: number };
  /** what a candidate's own sampling settings may ask of this pipeline */
  readonly sampling: SamplingLimits__Output;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly file?: string;
  readonly field?: string;
  readonly allowed?: string;
}

export type ThreadMessage =
  /** info: the pipeline thread's; null from a score thread, which says whether its decoder takes other sizes */
  | { readonly type: 'ready'; readonly info: PipelineInfo | null; readonly decoderTakesSizes?: boolean }
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof BadFileError) return { name: 'BadFileError', message: err.message, file: err.file };
  if (err instanceof ValidationError) return { name: 'ValidationError', message: err.message, field: err.field, allowed: err.allowed };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

/** Rebuilds the error classes the CLI maps to exit codes, with the same message. */
export function deserializeError(e: SerializedError): Error {
  if (e.name === 'BadFileError' && e.file !== undefined) return new BadFileError(e.file, e.message.slice(e.file.length + 2));
  if (e.name === 'ValidationError' && e.field !== undefined && e.allowed !== undefined) {
    const problem = e.message.slice(e.field.length + 2, e.message.length - `; allowed: ${e.allowed}`.length);
    return new ValidationError(e.field, problem, e.allowed);
  }
  const err = e.name === 'RangeError' ? new RangeError(e.message) : new Error(e.message);
  if (e.name === 'AbortError') err.name = 'AbortError';
  return err;
}
