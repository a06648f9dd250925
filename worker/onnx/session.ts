import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BadFileError } from '../../core/errors.js';
import { asFloatType, toHalfArray, type FloatData } from './float16.js';
import { createThroughCache } from './optimised-cache.js';
import { DEFAULT_RUNTIME, ortSessionOptions, type ActiveProvider, type OrtRuntime, type Provider } from './runtime-options.js';

export type { ActiveProvider, Provider } from './runtime-options.js';

export interface SessionOptions {
  readonly provider: Provider;
  /** intra-op threads per session; 0 = onnxruntime's default */
  readonly threads: number;
  /** where the provider choice is reported */
  readonly log: (line: string) => void;
  /** graph optimisation, optimised-model cache, device [DEFAULT_RUNTIME: level all, no cache, device 0] */
  readonly runtime?: OrtRuntime;
}

/** A value to feed, before adaptation to what the session declares (float data already in the input's type is fed as is). */
export type Feed =
  | { readonly kind: 'float'; readonly data: FloatData; readonly dims: readonly number[] }
  | { readonly kind: 'ids'; readonly data: Int32Array; readonly dims: readonly number[] }
  /**
   * one timestep per batch row, shaped as the session wants it: [B] as given, or a scalar / [1] when every
   * row has the same value (a graph with a scalar timestep cannot take a mixed-step batch)
   */
  | { readonly kind: 'timestep'; readonly values: Float64Array };

export interface Output {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** An output in the type the graph gave it (float16 as its bits). */
export interface TypedOutput {
  readonly data: FloatData;
  readonly dims: readonly number[];
}

type Meta = { name: string; type: string; shape: readonly (number | string)[] };

/**
 * An onnxruntime session that reads its inputs' metadata once and adapts every feed to it: float32 or
 * float16; input ids int32 or int64; timestep int64/int32/float, as a scalar, [1] or [B]. Created once, reused.
 */
export class AdaptedSession {
  private constructor(
    readonly file: string,
    private readonly session: ort.InferenceSession,
    private readonly inputs: ReadonlyMap<string, Meta>,
    private readonly outputs: ReadonlyMap<string, Meta>,
    readonly provider: ActiveProvider,
  ) {}

  /**
   * Opens `file` and checks that it takes exactly `inputs` (null: any, the caller checks them) and yields
   * `outputs` (BadFileError naming the file and the expected names otherwise). `role` says what the file
   * should be, for the messages.
   */
  static async open(file: string, role: string, inputs: readonly string[] | null, outputs: readonly string[], opts: SessionOptions): Promise<AdaptedSession> {
    if (!existsSync(file)) throw new BadFileError(file, `missing; expected the ${role}${inputs ? ` (ONNX with inputs ${inputs.join(', ')})` : ''}`);
    const { session, provider } = await createSession(file, role, opts);
    const declared = session.inputNames;
    const missing = (inputs ?? []).filter((n) => !declared.includes(n));
    const extra = inputs ? declared.filter((n) => !inputs.includes(n)) : [];
    if (inputs && (missing.length || extra.length)) {
      throw new BadFileError(file, `the ${role} has inputs [${declared.join(', ')}], expected [${(inputs ?? []).join(', ')}]`);
    }
    const missingOut = outputs.filter((n) => !session.outputNames.includes(n));
    if (missingOut.length) throw new BadFileError(file, `the ${role} has outputs [${session.outputNames.join(', ')}], expected [${outputs.join(', ')}]`);
    const metas = new Map<string, Meta>();
    for (const m of session.inputMetadata) {
      if (!m.isTensor) throw new BadFileError(file, `input ${m.name} is not a tensor; expected tensors only`);
      metas.set(m.name, { name: m.name, type: m.type, shape: m.shape });
    }
    const outs = new Map<string, Meta>();
    for (const m of session.outputMetadata) if (m.isTensor) outs.set(m.name, { name: m.name, type: m.type, shape: m.shape });
    return new AdaptedSession(file, session, metas, outs, provider);
  }

  get inputNames(): readonly string[] {
    return [...this.inputs.keys()];
  }

  get outputNames(): readonly string[] {
    return [...this.outputs.keys()];
  }

  /** Declared shape of an output (numbers, or names for symbolic dims); undefined when not a tensor. */
  outputShape(name: string): readonly (number | string)[] | undefined {
    return this.outputs.get(name)?.shape;
  }

  /** True when the timestep input takes one value per batch row ([B]), so a batch may mix steps. */
  perRowTimestep(name: string): boolean {
    const shape = this.meta(name).shape;
    return shape.length === 1 && shape[0] !== 1;
  }

  /** Declared shape of an input (numbers, or names for symbolic dims). */
  inputShape(name: string): readonly (number | string)[] {
    return this.meta(name).shape;
  }

  /** Declared element type of an input ('float32', 'int64', ...). */
  inputType(name: string): string {
    return this.meta(name).type;
  }

  /** Runs and returns float32 outputs (float16 ones converted). */
  async run(feeds: Readonly<Record<string, Feed>>, outputs: readonly string[]): Promise<Output[]> {
    return (await this.runTyped(feeds, outputs)).map((o) => ({ data: asFloatType(o.data, 'float32') as Float32Array, dims: o.dims }));
  }

  /** Runs and returns float outputs in the graph's own type: float16 stays float16 bits, nothing converted. */
  async runTyped(feeds: Readonly<Record<string, Feed>>, outputs: readonly string[]): Promise<TypedOutput[]> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, feed] of Object.entries(feeds)) tensors[name] = this.adapt(this.meta(name), feed);
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.session.run(tensors, outputs as string[]);
    } catch (err) {
      throw new Error(`${this.file}: run failed: ${firstLine(err)}`, { cause: err });
    }
    return outputs.map((name) => {
      const t = result[name];
      if (!t) throw new BadFileError(this.file, `run returned no output '${name}'`);
      const data = t.type === 'float16' ? (t.data as Uint16Array) : t.type === 'float32' ? (t.data as Float32Array) : Float32Array.from(t.data as ArrayLike<number>);
      return { data, dims: t.dims };
    });
  }

  async close(): Promise<void> {
    await this.session.release();
  }

  private meta(name: string): Meta {
    const m = this.inputs.get(name);
    if (!m) throw new BadFileError(this.file, `has no input '${name}'`);
    return m;
  }

  private adapt(m: Meta, feed: Feed): ort.Tensor {
    if (feed.kind === 'float') {
      if (m.type === 'float16' || m.type === 'float32') return new ort.Tensor(m.type, asFloatType(feed.data, m.type), feed.dims);
      throw this.badType(m, 'float32 or float16');
    }
    if (feed.kind === 'ids') {
      if (m.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(feed.data, (v) => BigInt(v)), feed.dims);
      if (m.type === 'int32') return new ort.Tensor('int32', feed.data, feed.dims);
      throw this.badType(m, 'int32 or int64');
    }
    // timestep: rank 0 -> scalar; a fixed [1] -> one value; otherwise one value per batch row
    const rank = m.shape.length;
    if (rank > 1) throw new BadFileError(this.file, `input ${m.name} has rank ${rank}; expected a scalar, [1] or [batch] timestep`);
    const perRow = rank === 1 && m.shape[0] !== 1;
    const all = feed.values;
    if (!perRow && all.some((v) => v !== all[0])) throw new Error(`${this.file}: input ${m.name} takes one timestep for the whole batch; the batch mixes steps`);
    const vals = perRow ? all : all.subarray(0, 1);
    const dims = rank === 0 ? [] : [vals.length];
    switch (m.type) {
      // numpy's astype(int64) truncates, as Optimum's pipelines do with fractional timesteps
      case 'int64':
        return new ort.Tensor('int64', BigInt64Array.from(vals, (v) => BigInt(Math.trunc(v))), dims);
      case 'int32':
        return new ort.Tensor('int32', Int32Array.from(vals, (v) => Math.trunc(v)), dims);
      case 'float32':
        return new ort.Tensor('float32', Float32Array.from(vals), dims);
      case 'float16':
        return new ort.Tensor('float16', toHalfArray(Float32Array.from(vals)), dims);
      case 'float64':
        return new ort.Tensor('float64', Float64Array.from(vals), dims);
      default:
        throw this.badType(m, 'int64, int32, float32, float16 or float64');
    }
  }

  private badType(m: Meta, expected: string): BadFileError {
    return new BadFileError(this.file, `input ${m.name} is ${m.type}; expected ${expected}`);
  }
}

// The provider is decided once per process: after a GPU provider failed to load, asking again only repeats the failure.
const gpuFailed = new Map<'cuda' | 'tensorrt', string>();
let fallbackReported = false;

/**
 * Opens a session on the provider asked for, with the session options of runtime-options.ts and through the
 * optimised-model cache. `cpu` is the CPU. `cuda` / `tensorrt` are that provider or an error naming what did not
 * load (a GPU worker that silently computed on the CPU would keep its GPU, stay Ready and run many times
 * slower). `auto` tries CUDA and falls back to the CPU, saying so once.
 */
async function createSession(file: string, role: string, opts: SessionOptions): Promise<{ session: ort.InferenceSession; provider: ActiveProvider }> {
  const rt = opts.runtime ?? DEFAULT_RUNTIME;
  const gpu = opts.provider === 'tensorrt' ? 'tensorrt' : 'cuda';
  if (opts.provider !== 'cpu' && !gpuFailed.has(gpu) && !existsSync(providerLibrary(gpu))) {
    gpuFailed.set(gpu, `${providerLibrary(gpu)} is not installed (onnxruntime-node's ${gpu === 'cuda' ? 'CUDA' : 'TensorRT'} build; the image installs it with ONNXRUNTIME_NODE_INSTALL=cuda12)`);
  }
  if (opts.provider !== 'cpu' && !gpuFailed.has(gpu)) {
    try {
      // fatal-only logging: onnxruntime prints its own error when the CUDA libraries are absent, and we say it in one line
      const session = await createThroughCache(file, { ...ortSessionOptions(gpu, opts.threads, rt), logSeverityLevel: 4 }, gpu, rt, opts.log);
      return { session, provider: gpu };
    } catch (err) {
      if (!existsSync(file) || !isProviderError(err)) throw corrupt(file, role, err);
      gpuFailed.set(gpu, firstLine(err));
    }
  }
  const failed = gpuFailed.get(gpu);
  if ((opts.provider === 'cuda' || opts.provider === 'tensorrt') && failed !== undefined) throw new ProviderUnavailableError(opts.provider, failed);
  if (opts.provider === 'auto' && failed !== undefined && !fallbackReported) {
    fallbackReported = true;
    opts.log(`onnx: execution provider cuda is not available (${failed}); --provider auto falls back to cpu`);
  }
  try {
    return { session: await createThroughCache(file, ortSessionOptions('cpu', opts.threads, rt), 'cpu', rt, opts.log), provider: 'cpu' };
  } catch (err) {
    throw corrupt(file, role, err);
  }
}

/** `--provider cuda` asked for an execution provider that cannot load here. */
export class ProviderUnavailableError extends Error {
  override readonly name = 'ProviderUnavailableError';
  constructor(
    readonly provider: 'cuda' | 'tensorrt',
    readonly reason: string,
  ) {
    super(`execution provider ${provider} cannot load: ${reason}; use --provider auto to fall back to cpu, or --provider cpu`);
  }
}

/** onnxruntime-node's CUDA or TensorRT provider library, which its install script downloads (skipped offline). */
function providerLibrary(name: 'cuda' | 'tensorrt'): string {
  const lib = `libonnxruntime_providers_${name}.so`;
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    return join(pkg, 'bin', 'napi-v6', process.platform, process.arch, lib);
  } catch {
    return lib;
  }
}

function isProviderError(err: unknown): boolean {
  return /cuda|provider|libcu|backend/i.test(String(err));
}

function corrupt(file: string, role: string, err: unknown): BadFileError {
  return new BadFileError(file, `cannot load it as ONNX (${firstLine(err)}); expected the ${role}`, { cause: err });
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]?.slice(0, 200) ?? '';
}
