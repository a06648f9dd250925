import { ValidationError } from '../../core/errors.js';
import type { BackendFactory, BackendHooks, BackendOptions, WorkerBackend } from '../backend.js';
import { createOnnxBackend } from './onnx.js';
import { createTraceBackend } from './trace.js';

/** Backend name -> factory. Adding a backend is one line here. */
export const BACKENDS: Readonly<Record<string, BackendFactory>> = {
  trace: createTraceBackend,
  onnx: createOnnxBackend,
};

export async function createBackend(name: string, opts: BackendOptions, hooks: BackendHooks = {}, field = '--backend'): Promise<WorkerBackend> {
  const factory = BACKENDS[name];
  if (!factory) throw new ValidationError(field, `unknown backend '${name}'`, Object.keys(BACKENDS).join(' | '));
  return factory(opts, hooks);
}
