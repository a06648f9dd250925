import { BadFileError } from '../../core/errors.js';
import type { GraphNode, OnnxGraph } from './graph.js';

/** A tensor's concrete shape, and its values when it is a small constant-foldable tensor (shape arithmetic). */
export interface Value {
  readonly shape: readonly number[];
  readonly values?: readonly number[];
}

const UNARY = new Set(['Identity', 'Cast', 'Sigmoid', 'Erf', 'Tanh', 'Cos', 'Sin', 'Sqrt', 'Relu', 'Neg', 'Exp', 'Log', 'Softmax', 'LogSoftmax', 'LayerNormalization', 'InstanceNormalization', 'GroupNormalization', 'BatchNormalization', 'Dropout', 'Gelu', 'FastGelu', 'SkipLayerNormalization', 'Clip', 'Abs', 'Floor', 'Ceil', 'Round', 'Reciprocal', 'Not', 'HardSigmoid', 'LeakyRelu', 'Silu', 'QuickGelu', 'IsNaN', 'Sign', 'Trilu', 'CumSum', 'SimplifiedLayerNormalization']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Equal', 'Less', 'Greater', 'And', 'Or', 'Max', 'Min', 'Mod', 'Where', 'LessOrEqual', 'GreaterOrEqual', 'BiasGelu', 'PRelu']);

/**
 * Static shape inference with batch 1: every graph input gets a concrete shape (symbolic dims bound by
 * `bind`), and shapes flow through the ops diffusion exports use, folding small integer tensors on the way
 * (Shape -> Gather -> Concat -> Reshape). Unsupported ops keep their declared shape if the file has one;
 * otherwise their outputs stay unknown and the FLOPs of nodes that depend on them are reported as uncounted.
 */
export function inferShapes(g: OnnxGraph, bind: (input: string, dim: string, axis: number) => number): Map<string, Value> {
  const env = new Map<string, Value>();
  for (const [name, shape] of g.shapes) if (g.initializers.has(name) || g.constants.has(name)) env.set(name, withValues(shape.map(Number), g.constants.get(name)));
  for (const [name, shape] of g.inputs) env.set(name, { shape: shape.map((d, axis) => (typeof d === 'number' ? d : bind(name, d, axis))) });
  for (const n of g.nodes) {
    let outs: Value[] | null = null;
    try {
      outs = infer(n, n.inputs.map((i) => (i === '' ? undefined : env.get(i))));
    } catch (err) {
      throw new BadFileError(g.file, `shape inference failed at ${n.op} node '${n.name}': ${(err as Error).message}`);
    }
    n.outputs.forEach((o, k) => {
      const v = outs?.[k];
      if (v) env.set(o, v);
      else if (!env.has(o)) {
        const declared = g.shapes.get(o);
        if (declared && declared.every((d) => typeof d === 'number')) env.set(o, { shape: declared as number[] });
      }
    });
  }
  return env;
}

function withValues(shape: number[], values?: readonly number[]): Value {
  return values ? { shape, values } : { shape };
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    out.push(x === 1 ? y : x);
  }
  return out;
}

function infer(n: GraphNode, ins: (Value | undefined)[]): Value[] | null {
  const a = ins[0];
  const attr = (k: string): number | undefined => n.attrs.get(k)?.i;
  const ints = (k: string): readonly number[] | undefined => n.attrs.get(k)?.ints;
  const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);
  if (n.op === 'Constant') return null; // shapes and values were read from the file
  if (!a && n.op !== 'Range') return null;
  if (UNARY.has(n.op)) return [withValues([...(a as Value).shape], n.op === 'Cast' || n.op === 'Identity' ? (a as Value).values : undefined)];
  if (BINARY.has(n.op)) {
    const known = ins.filter((v): v is Value => !!v);
    if (known.length < ins.length) return null;
    const shape = known.map((v) => v.shape).reduce<number[]>((p, q) => broadcast(p, q), []);
    const vals = known.length === 2 && known.every((v) => v.values) && size(shape) <= 16 ? elementwise(n.op, known[0]?.values as number[], known[1]?.values as number[]) : undefined;
    return [withValues(shape, vals)];
  }
  const v = a as Value;
  const rank = v.shape.length;
  switch (n.op) {
    case 'Shape': {
      const start = norm(attr('start') ?? 0, rank);
      const end = attr('end') === undefined ? rank : norm(attr('end') as number, rank);
      const dims = v.shape.slice(start, end);
      return [{ shape: [dims.length], values: dims }];
    }
    case 'Gather': {
      const idx = ins[1];
      if (!idx) return null;
      const axis = norm(attr('axis') ?? 0, rank);
      const shape = [...v.shape.slice(0, axis), ...idx.shape, ...v.shape.slice(axis + 1)];
      const vals = v.values && idx.values && rank === 1 ? idx.values.map((i) => v.values?.[i < 0 ? i + v.shape[0]! : i] as number) : undefined;
      return [withValues(shape, vals)];
    }
    case 'Unsqueeze': {
      const axes = ints('axes') ?? ins[1]?.values;
      if (!axes) return null;
      const out = [...v.shape];
      const r = rank + axes.length;
      for (const ax of [...axes].map((x) => norm(x, r)).sort((p, q) => p - q)) out.splice(ax, 0, 1);
      return [withValues(out, v.values)];
    }
    case 'Squeeze': {
      const axes = ints('axes') ?? ins[1]?.values;
      const drop = new Set((axes ?? v.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((x) => norm(x, rank)));
      return [withValues(v.shape.filter((_, i) => !drop.has(i)), v.values)];
    }
    case 'Concat': {
      if (ins.some((x) => !x)) return null;
      const vs = ins as Value[];
      const axis = norm(attr('axis') ?? 0, rank);
      const shape = [...v.shape];
      shape[axis] = vs.reduce((s, x) => s + (x.shape[axis] as number), 0);
      const vals = rank === 1 && vs.every((x) => x.values) ? vs.flatMap((x) => x.values as number[]) : undefined;
      return [withValues(shape, vals)];
    }
    case 'Reshape': {
      const target = ins[1]?.values;
      if (!target) return null;
      const out = target.map((d, i) => (d === 0 ? (v.shape[i] as number) : d));
      const known = out.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
      return [withValues(out.map((d) => (d === -1 ? size(v.shape) / known : d)), v.values)];
    }
    case 'Flatten': {
      const axis = norm(attr('axis') ?? 1, rank);
      return [{ shape: [size(v.shape.slice(0, axis)), size(v.shape.slice(axis))] }];
    }
    case 'Transpose': {
      const perm = ints('perm') ?? v.shape.map((_, i) => rank - 1 - i);
      return [{ shape: perm.map((p) => v.shape[p] as number) }];
    }
    case 'Expand': {
      const target = ins[1]?.values;
      return target ? [{ shape: broadcast(v.shape, target) }] : null;
    }
    case 'Slice': {
      const starts = ins[1]?.values;
      const ends = ins[2]?.values;
      if (!starts || !ends) return null;
      const axes = ins[3]?.values ?? starts.map((_, i) => i);
      const steps = ins[4]?.values ?? starts.map(() => 1);
      const out = [...v.shape];
      let vals = v.values ? [...v.values] : undefined;
      axes.forEach((axRaw, k) => {
        const ax = norm(axRaw, rank);
        const dim = v.shape[ax] as number;
        const step = steps[k] as number;
        const clampIdx = (x: number, lo: number, hi: number): number => Math.min(Math.max(x < 0 ? x + dim : x, lo), hi);
        const s0 = step > 0 ? clampIdx(starts[k] as number, 0, dim) : clampIdx(starts[k] as number, -1, dim - 1);
        const e0 = step > 0 ? clampIdx(ends[k] as number, 0, dim) : clampIdx(ends[k] as number, -1, dim - 1);
        out[ax] = Math.max(0, Math.ceil((e0 - s0) / step));
        if (vals && rank === 1) vals = Array.from({ length: out[ax] as number }, (_, i) => vals?.[s0 + i * step] as number);
      });
      return [withValues(out, vals)];
    }
    case 'Split': {
      const axis = norm(attr('axis') ?? 0, rank);
      const parts = ints('split') ?? ins[1]?.values ?? Array.from({ length: n.outputs.length }, () => (v.shape[axis] as number) / n.outputs.length);
      return parts.map((p) => ({ shape: v.shape.map((d, i) => (i === axis ? p : d)) }));
    }
    case 'MatMul':
    case 'FusedMatMul': {
      const b = ins[1];
      if (!b) return null;
      const as = rank === 1 ? [1, v.shape[0] as number] : v.shape;
      const bs = b.shape.length === 1 ? [b.shape[0] as number, 1] : b.shape;
      const batch = broadcast(as.slice(0, -2), bs.slice(0, -2));
      const out = [...batch, as[as.length - 2] as number, bs[bs.length - 1] as number];
      if (rank === 1) out.splice(out.length - 2, 1);
      if (b.shape.length === 1) out.pop();
      return [{ shape: out }];
    }
    case 'Gemm': {
      const b = ins[1];
      if (!b) return null;
      const m = attr('transA') ? v.shape[1] : v.shape[0];
      const nn = attr('transB') ? b.shape[0] : b.shape[1];
      return [{ shape: [m as number, nn as number] }];
    }
    case 'Conv':
    case 'ConvTranspose': {
      const w = ins[1];
      if (!w) return null;
      const k = w.shape.slice(2);
      const strides = ints('strides') ?? k.map(() => 1);
      const dil = ints('dilations') ?? k.map(() => 1);
      const pads = ints('pads') ?? k.flatMap(() => [0, 0]);
      const group = attr('group') ?? 1;
      const spatial = k.map((kk, i) => {
        const inDim = v.shape[2 + i] as number;
        const p = (pads[i] as number) + (pads[i + k.length] as number);
        if (n.op === 'Conv') return Math.floor((inDim + p - (dil[i] as number) * (kk - 1) - 1) / (strides[i] as number) + 1);
        return (strides[i] as number) * (inDim - 1) + ((ints('output_padding') ?? [])[i] ?? 0) + (dil[i] as number) * (kk - 1) + 1 - p;
      });
      const cout = n.op === 'Conv' ? (w.shape[0] as number) : (w.shape[1] as number) * group;
      return [{ shape: [v.shape[0] as number, cout, ...spatial] }];
    }
    case 'Resize':
    case 'Upsample': {
      const sizes = ins[3]?.values;
      if (sizes && sizes.length === rank) return [{ shape: [...sizes] }];
      const scales = (n.op === 'Upsample' ? ins[1] : ins[2])?.values;
      if (scales && scales.length === rank) return [{ shape: v.shape.map((d, i) => Math.floor(d * (scales[i] as number))) }];
      return null;
    }
    case 'AveragePool':
    case 'MaxPool': {
      const k = ints('kernel_shape') ?? [];
      const strides = ints('strides') ?? k.map(() => 1);
      const pads = ints('pads') ?? k.flatMap(() => [0, 0]);
      const spatial = k.map((kk, i) => Math.floor(((v.shape[2 + i] as number) + (pads[i] as number) + (pads[i + k.length] as number) - kk) / (strides[i] as number) + 1));
      return [{ shape: [v.shape[0] as number, v.shape[1] as number, ...spatial] }];
    }
    case 'GlobalAveragePool':
      return [{ shape: v.shape.map((d, i) => (i < 2 ? d : 1)) }];
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax':
    case 'ReduceL2': {
      const axes = (ints('axes') ?? ins[1]?.values ?? v.shape.map((_, i) => i)).map((x) => norm(x, rank));
      const keep = (attr('keepdims') ?? 1) === 1;
      const out = v.shape.flatMap((d, i) => (axes.includes(i) ? (keep ? [1] : []) : [d]));
      return [{ shape: out }];
    }
    case 'ConstantOfShape':
      return v.values ? [{ shape: [...v.values] }] : null;
    case 'Range':
      return null;
    default:
      return null;
  }
}

function elementwise(op: string, x: number[], y: number[]): number[] | undefined {
  const n = Math.max(x.length, y.length);
  const get = (arr: number[], i: number): number => (arr.length === 1 ? (arr[0] as number) : (arr[i] as number));
  const f: Record<string, (p: number, q: number) => number> = {
    Add: (p, q) => p + q,
    Sub: (p, q) => p - q,
    Mul: (p, q) => p * q,
    // integer shape arithmetic truncates (int64 Div); float constants divide exactly
    Div: (p, q) => (Number.isInteger(p) && Number.isInteger(q) ? Math.trunc(p / q) : p / q),
  };
  const fn = f[op];
  return fn ? Array.from({ length: n }, (_, i) => fn(get(x, i), get(y, i))) : undefined;
}
