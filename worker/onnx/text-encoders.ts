import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BadFileError } from '../../core/errors.js';
import type { LayoutKind } from './layout.js';
import { readJson, type Manifest } from './manifest.js';
import { asFloatType, zerosLike, type FloatData, type FloatType } from './float16.js';
import { AdaptedSession, type SessionOptions, type TypedOutput } from './session.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';

/**
 * One prompt's conditioning: token states [seqLen, seqDim] and pooled embedding [pooledDim] (empty for SD), in
 * the denoiser's float type (float16 bits for an fp16 model), so that the pipeline caches them per prompt as the
 * denoiser takes them and no denoise call converts them.
 */
export interface Conditioning {
  readonly seq: FloatData;
  readonly seqLen: number;
  readonly pooled: FloatData;
}

/** A text encoder with its own tokenizer and padded length (each encoder of SDXL/SD3/FLUX has its own). */
class Encoder {
  private constructor(
    readonly session: AdaptedSession,
    readonly tokenizer: Tokenizer,
  ) {}

  static async open(dir: string, n: string, tok: string, maxLength: number, want: readonly string[], opts: SessionOptions): Promise<Encoder> {
    const session = await AdaptedSession.open(join(dir, n, 'model.onnx'), `text encoder ${n}`, ['input_ids'], want, opts);
    return new Encoder(session, loadTokenizer(join(dir, tok), maxLength));
  }

  /** The name of the penultimate layer's states, hidden_states.{N-1} (diffusers' hidden_states[-2]). */
  penultimate(): string {
    const layers = this.session.outputNames.map((n) => /^hidden_states\.(\d+)$/.exec(n)?.[1]).filter((x): x is string => x !== undefined).map(Number);
    if (layers.length < 2) throw new BadFileError(this.session.file, `has outputs [${this.session.outputNames.join(', ')}], expected hidden_states.0 ... hidden_states.N (SDXL and SD3 condition on the penultimate layer)`);
    return `hidden_states.${Math.max(...layers) - 1}`;
  }

  /** The outputs for each text, converted (once, here) to `type` where the encoder gives another. */
  async run(texts: readonly string[], outputs: readonly string[], type: FloatType): Promise<TypedOutput[]> {
    const L = this.tokenizer.maxLength;
    const ids = new Int32Array(texts.length * L);
    texts.forEach((t, i) => ids.set(this.tokenizer.encode(t), i * L));
    const outs = await this.session.runTyped({ input_ids: { kind: 'ids', data: ids, dims: [texts.length, L] } }, outputs);
    return outs.map((o) => ({ data: asFloatType(o.data, type), dims: o.dims }));
  }
}

/**
 * The text side of a layout, as the diffusers pipelines build it:
 * - sd: last_hidden_state of the CLIP encoder;
 * - sdxl: penultimate states of both CLIP encoders concatenated on the feature axis; pooled = text_embeds of the second;
 * - sd3: the same from two CLIP-with-projection encoders, zero-padded to T5's width and followed on the
 *   sequence axis by T5's states (zeros without text_encoder_3); pooled = both text_embeds;
 * - flux: T5's states; pooled = the CLIP pooler_output.
 */
export class TextConditioner {
  private constructor(
    private readonly kind: LayoutKind,
    private readonly encoders: readonly Encoder[],
    private readonly names: readonly (readonly string[])[],
    private readonly t5Width: number,
    private readonly t5Length: number,
    private readonly zeroEmptyNegative: boolean,
    /** the denoiser's float type: conditioning is kept in it */
    readonly type: FloatType,
  ) {}

  static async open(dir: string, kind: LayoutKind, m: Manifest, opts: SessionOptions, type: FloatType): Promise<TextConditioner> {
    const L = m.text.max_length;
    const S = m.text.t5_max_length ?? 256;
    const zeros = m.sampling.zero_empty_negative;
    if (kind === 'sd') return new TextConditioner(kind, [await Encoder.open(dir, 'text_encoder', 'tokenizer', L, ['last_hidden_state'], opts)], [['last_hidden_state']], 0, 0, zeros, type);
    if (kind === 'flux') {
      const clip = await Encoder.open(dir, 'text_encoder', 'tokenizer', L, ['pooler_output'], opts);
      const t5 = await Encoder.open(dir, 'text_encoder_2', 'tokenizer_2', S, ['last_hidden_state'], opts);
      return new TextConditioner(kind, [clip, t5], [['pooler_output'], ['last_hidden_state']], 0, S, zeros, type);
    }
    const pooledOut = kind === 'sdxl' ? [] : ['text_embeds'];
    const a = await Encoder.open(dir, 'text_encoder', 'tokenizer', L, pooledOut, opts);
    const b = await Encoder.open(dir, 'text_encoder_2', 'tokenizer_2', L, ['text_embeds'], opts);
    const names = [[a.penultimate(), ...pooledOut], [b.penultimate(), 'text_embeds']];
    if (kind === 'sdxl') return new TextConditioner(kind, [a, b], names, 0, 0, zeros, type);
    if (existsSync(join(dir, 'text_encoder_3', 'model.onnx'))) {
      const t5 = await Encoder.open(dir, 'text_encoder_3', 'tokenizer_3', S, ['last_hidden_state'], opts);
      return new TextConditioner(kind, [a, b, t5], [...names, ['last_hidden_state']], 0, S, zeros, type);
    }
    // SD3 without T5 (diffusers: text_encoder_3=None): zeros of the transformer's joint width
    const width = transformerJointWidth(dir);
    return new TextConditioner(kind, [a, b], names, width, S, zeros, type);
  }

  get sessions(): readonly AdaptedSession[] {
    return this.encoders.map((e) => e.session);
  }

  /** Conditioning of each text. */
  async encode(texts: readonly string[]): Promise<Conditioning[]> {
    const outs = await Promise.all(this.encoders.map((e, i) => e.run(texts, this.names[i] as string[], this.type)));
    const n = texts.length;
    const rows = (o: TypedOutput, i: number): FloatData => o.data.subarray((i * o.data.length) / n, ((i + 1) * o.data.length) / n);
    const at = (e: number, k: number): TypedOutput => (outs[e] as TypedOutput[])[k] as TypedOutput;
    return texts.map((_, i) => {
      if (this.kind === 'sd') return { seq: rows(at(0, 0), i).slice(), seqLen: at(0, 0).dims[1] as number, pooled: zerosLike(at(0, 0).data, 0) };
      if (this.kind === 'flux') return { seq: rows(at(1, 0), i).slice(), seqLen: at(1, 0).dims[1] as number, pooled: rows(at(0, 0), i).slice() };
      const a = at(0, 0);
      const b = at(1, 0);
      const seq = concatFeatures([rows(a, i), rows(b, i)], [last(a.dims), last(b.dims)], a.dims[1] as number);
      if (this.kind === 'sdxl') return { seq, seqLen: a.dims[1] as number, pooled: rows(at(1, 1), i).slice() };
      const pa = rows(at(0, 1), i);
      const pooled = zerosLike(pa, pa.length + rows(at(1, 1), i).length);
      pooled.set(pa);
      pooled.set(rows(at(1, 1), i), pa.length);
      const t5 = outs[2] ? rows(at(2, 0), i) : zerosLike(seq, this.t5Length * this.t5Width);
      const width = outs[2] ? last(at(2, 0).dims) : this.t5Width;
      const clipTokens = a.dims[1] as number;
      if (last(a.dims) + last(b.dims) > width) throw new BadFileError('text_encoder_3', `T5 width ${width} is narrower than the CLIP states ${last(a.dims)} + ${last(b.dims)}; expected SD3's joint width`);
      const out = zerosLike(seq, (clipTokens + t5.length / width) * width);
      const clipWidth = last(a.dims) + last(b.dims);
      for (let t = 0; t < clipTokens; t++) out.set(seq.subarray(t * clipWidth, (t + 1) * clipWidth), t * width);
      out.set(t5, clipTokens * width);
      return { seq: out, seqLen: out.length / width, pooled };
    });
  }

  /** The negative prompt's conditioning; SDXL's empty negative is all zeros (force_zeros_for_empty_prompt). */
  async negative(text: string): Promise<Conditioning> {
    const [c] = await this.encode([text]);
    const cond = c as Conditioning;
    if (this.zeroEmptyNegative && text === '') return { seq: zerosLike(cond.seq, cond.seq.length), seqLen: cond.seqLen, pooled: zerosLike(cond.pooled, cond.pooled.length) };
    return cond;
  }
}

const last = (dims: readonly number[]): number => dims[dims.length - 1] as number;

/** [tokens, a] and [tokens, b] -> [tokens, a + b] (all in one float type). */
function concatFeatures(parts: readonly FloatData[], widths: readonly number[], tokens: number): FloatData {
  const total = widths.reduce((s, w) => s + w, 0);
  const out = zerosLike(parts[0] as FloatData, tokens * total);
  for (let t = 0; t < tokens; t++) {
    let off = t * total;
    parts.forEach((p, k) => {
      const w = widths[k] as number;
      out.set(p.subarray(t * w, (t + 1) * w), off);
      off += w;
    });
  }
  return out;
}

function transformerJointWidth(dir: string): number {
  const file = join(dir, 'transformer', 'config.json');
  const cfg = readJson(file, 'the transformer config (joint_attention_dim)') as { joint_attention_dim?: unknown };
  if (typeof cfg.joint_attention_dim !== 'number') throw new BadFileError(file, 'joint_attention_dim is missing; expected it to size the zero T5 states of an SD3 export without text_encoder_3');
  return cfg.joint_attention_dim;
}
