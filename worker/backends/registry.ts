import { ValidationError } from '../../core/errors.js';
import type { WorkerBackend } from '../backend.js';
import { createOnnxBackend } from './onnx.js';
import { createTraceBackend } from './trace.js';

/**
 * Backend options as the CLI parsed them (flag names without dashes, camelCase, raw strings). Each factory
 * compiles what it needs and throws ValidationError naming the flag.
 */
export type BackendOptions = Readonly<Record<string, string | boolean | undefined>>;

export type BackendFactory = (opts: BackendOptions) => Promise<WorkerBackend>;

/** Backend name -> factory. Adding a backend is one line here. */
export const BACKENDS: Readonly<Record<string, BackendFactory>> = {
  trace: createTraceBackend,
  onnx: createOnnxBackend,
};

export async function createBackend(name: string, opts: BackendOptions, field = '--backend'): Promise<WorkerBackend> {
  const factory = BACKENDS[name];
  if (!factory) throw new ValidationError(field, `unknown backend '${name}'`, Object.keys(BACKENDS).join(' | '));
  return factory(opts);
}
