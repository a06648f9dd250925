import type { GraphNode, OnnxGraph } from './graph.js';
import { inferShapes, type Value } from './shape-infer.js';

/** FLOPs of one model call at batch 1, by op type; multiply-accumulate = 2 FLOPs. */
export interface FlopCount {
  readonly file: string;
  readonly total: number;
  readonly byOp: Readonly<Record<string, number>>;
  /** Conv / MatMul / Gemm / attention nodes whose shapes could not be inferred (not counted) */
  readonly uncounted: readonly string[];
}

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Counts the FLOPs of Conv (2 * out elements * Cin/group * kernel), ConvTranspose, MatMul (2 * M * K * N per
 * batch), Gemm, and fused attention ops (Attention / MultiHeadAttention: 4 * B * S_q * S_kv * hidden for
 * QK^T and AV) at batch 1. Unfused attention exports are MatMuls and count as such. Elementwise ops and
 * normalisations are ignored (they are a few per cent of a diffusion model's FLOPs).
 */
export function countFlops(g: OnnxGraph, bind: (input: string, dim: string, axis: number) => number): FlopCount {
  const env = inferShapes(g, bind);
  const byOp: Record<string, number> = {};
  const uncounted: string[] = [];
  let total = 0;
  for (const n of g.nodes) {
    const f = nodeFlops(n, n.inputs.map((i) => env.get(i)), n.outputs.map((o) => env.get(o)));
    if (f === null) {
      uncounted.push(`${n.op} ${n.name}`);
      continue;
    }
    if (f > 0) {
      byOp[n.op] = (byOp[n.op] ?? 0) + f;
      total += f;
    }
  }
  return { file: g.file, total, byOp, uncounted };
}

function nodeFlops(n: GraphNode, ins: (Value | undefined)[], outs: (Value | undefined)[]): number | null {
  const out = outs[0];
  switch (n.op) {
    case 'Conv': {
      const w = ins[1];
      if (!w || !out) return null;
      // each output element: Cin/group * prod(kernel) multiply-adds
      return 2 * size(out.shape) * size(w.shape.slice(1));
    }
    case 'ConvTranspose': {
      const x = ins[0];
      const w = ins[1];
      if (!w || !x) return null;
      return 2 * size(x.shape) * size(w.shape.slice(1));
    }
    case 'MatMul':
    case 'FusedMatMul':
    case 'Gemm': {
      const a = ins[0];
      if (!a || !out) return null;
      const k = n.op === 'Gemm' && n.attrs.get('transA')?.i ? (a.shape[0] as number) : (a.shape[a.shape.length - 1] as number);
      return 2 * size(out.shape) * k;
    }
    case 'Attention':
    case 'MultiHeadAttention': {
      const q = ins[0];
      const kv = n.op === 'MultiHeadAttention' ? (ins[1] ?? q) : q;
      if (!q || !kv || q.shape.length < 3) return null;
      const [b, sq, hidden] = q.shape as [number, number, number];
      const skv = kv.shape[1] as number;
      return 4 * b * sq * skv * hidden;
    }
    default:
      return 0;
  }
}
