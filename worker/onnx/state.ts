import { ValidationError } from '../../core/errors.js';
import type { SamplingSettings__Output } from '../../core/generated/ttsnap/v1/SamplingSettings.js';

/** What travels when a candidate moves between workers: its spec, its step and its latents. */
export interface CandidateState {
  readonly model: string;
  readonly prompt: number;
  readonly text: string;
  readonly candidate: number;
  readonly seed: number;
  readonly step: number;
  readonly latent: Float32Array;
  /** Tweedie estimate of the last step taken (absent at step -1) */
  readonly x0: Float32Array | null;
  /** the sampling settings it ran with (absent in states of workers before per-candidate settings: the worker's own) */
  readonly sampling?: SamplingSettings__Output;
}

const MAGIC = 0x4c535454; // 'TTSL' little-endian

/**
 * Layout: u32 magic, u32 header length, header JSON (utf-8, padded to 4 bytes), latent float32 LE, x0 float32 LE.
 * The header names the model so that a state never resumes on a different bundle.
 */
export function encodeState(s: CandidateState): Uint8Array {
  const header = new TextEncoder().encode(
    JSON.stringify({ model: s.model, prompt: s.prompt, text: s.text, candidate: s.candidate, seed: s.seed, step: s.step, n: s.latent.length, x0: s.x0 !== null, ...(s.sampling ? { sampling: s.sampling } : {}) }),
  );
  const hlen = (header.length + 3) & ~3;
  const floats = s.latent.length * (s.x0 ? 2 : 1);
  const out = new Uint8Array(8 + hlen + floats * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  const body = new Float32Array(out.buffer, 8 + hlen, floats);
  body.set(s.latent);
  if (s.x0) body.set(s.x0, s.latent.length);
  return out;
}

export function decodeState(bytes: Uint8Array, model: string): CandidateState {
  const bad = (problem: string): ValidationError => new ValidationError('state', problem, `a candidate state exported by an onnx backend of model '${model}'`);
  if (bytes.byteLength < 8) throw bad(`${bytes.byteLength} bytes`);
  const copy = bytes.slice(); // aligned, owned
  const view = new DataView(copy.buffer);
  if (view.getUint32(0, true) !== MAGIC) throw bad('wrong magic');
  const len = view.getUint32(4, true);
  const hlen = (len + 3) & ~3;
  let h: { model: string; prompt: number; text: string; candidate: number; seed: number; step: number; n: number; x0: boolean; sampling?: SamplingSettings__Output };
  try {
    h = JSON.parse(new TextDecoder().decode(copy.subarray(8, 8 + len))) as typeof h;
  } catch {
    throw bad('unreadable header');
  }
  if (h.model !== model) throw bad(`it comes from model '${h.model}'`);
  const floats = h.n * (h.x0 ? 2 : 1);
  if (copy.byteLength !== 8 + hlen + floats * 4) throw bad(`${copy.byteLength} bytes for ${floats} floats`);
  const body = new Float32Array(copy.buffer, 8 + hlen, floats);
  return { ...h, latent: body.slice(0, h.n), x0: h.x0 ? body.slice(h.n) : null };
}
