import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { BadFileError } from '../../core/errors.js';
import { packageRoot } from '../../core/package-root.js';

/** A dimension: a number, or the name of a symbolic dimension ("batch"). */
export type Dim = number | string;

export interface GraphNode {
  readonly op: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: ReadonlyMap<string, { readonly i?: number; readonly ints?: readonly number[]; readonly f?: number }>;
}

/** What `models cost` and `models check` need from an ONNX file: nodes, and the shapes the file declares. */
export interface OnnxGraph {
  readonly file: string;
  readonly opset: number;
  readonly nodes: readonly GraphNode[];
  readonly inputs: ReadonlyMap<string, readonly Dim[]>;
  readonly outputs: ReadonlyMap<string, readonly Dim[]>;
  /** initializers (weights) and value_info / inputs / outputs with a declared shape */
  readonly shapes: ReadonlyMap<string, readonly Dim[]>;
  readonly initializers: ReadonlySet<string>;
  /** values of small int64 / float32 constants and initializers (shape arguments of Reshape, Resize scales...) */
  readonly constants: ReadonlyMap<string, readonly number[]>;
}

let modelType: protobuf.Type | null = null;

function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.loadSync(join(packageRoot(), 'worker', 'onnx', 'onnx.proto')).lookupType('onnx.ModelProto');
  return modelType;
}

interface DimMsg { dimValue?: unknown; dimParam?: string }
interface VInfo { name?: string; type?: { tensorType?: { shape?: { dim?: DimMsg[] } } } }
interface Tensor { name?: string; dims?: unknown[]; dataType?: number; int64Data?: unknown[]; rawData?: Uint8Array }
interface Attr { name?: string; i?: unknown; ints?: unknown[]; f?: number; t?: Tensor }
interface Node { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: Attr[] }
interface Model { opsetImport?: { domain?: string; version?: unknown }[]; graph?: { node?: Node[]; initializer?: Tensor[]; input?: VInfo[]; output?: VInfo[]; valueInfo?: VInfo[] } }

const num = (v: unknown): number => Number(v);

/** Parses an ONNX file (protobufjs over the onnx.proto subset); a file that does not decode is a BadFileError. */
export function readOnnxGraph(file: string): OnnxGraph {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new BadFileError(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected an ONNX model`, { cause: err });
  }
  let m: Model;
  try {
    m = onnxModelType().toObject(onnxModelType().decode(bytes), { longs: Number, defaults: false }) as Model;
  } catch (err) {
    throw new BadFileError(file, `not an ONNX model (${(err as Error).message})`, { cause: err });
  }
  const g = m.graph;
  if (!g || !g.node?.length) throw new BadFileError(file, 'has no graph nodes; expected an ONNX model');
  const shapeOf = (v: VInfo): Dim[] => (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined ? num(d.dimValue) : '?'));
  const shapes = new Map<string, readonly Dim[]>();
  const constants = new Map<string, readonly number[]>();
  const initializers = new Set<string>();
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    initializers.add(name);
    shapes.set(name, (t.dims ?? []).map(num));
    const c = int64Values(t);
    if (c) constants.set(name, c);
  }
  for (const v of [...(g.valueInfo ?? []), ...(g.input ?? []), ...(g.output ?? [])]) if (v.name && v.type?.tensorType?.shape) shapes.set(v.name, shapeOf(v));
  const nodes: GraphNode[] = g.node.map((n) => {
    const attrs = new Map<string, { i?: number; ints?: number[]; f?: number }>();
    for (const a of n.attribute ?? []) {
      attrs.set(a.name ?? '', { ...(a.i !== undefined ? { i: num(a.i) } : {}), ...(a.ints ? { ints: a.ints.map(num) } : {}), ...(a.f !== undefined ? { f: a.f } : {}) });
      // Constant nodes carrying int64 shape arguments
      if (n.opType === 'Constant' && a.name === 'value' && a.t) {
        const c = int64Values(a.t);
        if (c && n.output?.[0]) constants.set(n.output[0], c);
        if (n.output?.[0]) shapes.set(n.output[0], (a.t.dims ?? []).map(num));
      }
    }
    return { op: n.opType ?? '', domain: n.domain ?? '', name: n.name ?? '', inputs: n.input ?? [], outputs: n.output ?? [], attrs };
  });
  const opset = num(m.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  return {
    file,
    opset,
    nodes,
    inputs: new Map((g.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => [v.name ?? '', shapeOf(v)])),
    outputs: new Map((g.output ?? []).map((v) => [v.name ?? '', shapeOf(v)])),
    shapes,
    initializers,
    constants,
  };
}

/** Values of a small INT64 (7) or FLOAT (1) tensor (at most 16 elements), else null. */
function int64Values(t: Tensor): number[] | null {
  if (t.dataType === 7 && t.int64Data?.length) return t.int64Data.map(num);
  const raw = t.rawData;
  const width = t.dataType === 7 ? 8 : t.dataType === 1 ? 4 : 0;
  if (!width || !raw || raw.byteLength % width !== 0 || raw.byteLength > width * 16) return null;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: raw.byteLength / width }, (_, i) => (width === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getFloat32(i * 4, true)));
}
