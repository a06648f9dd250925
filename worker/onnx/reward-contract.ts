import { BadFileError } from '../../core/errors.js';
import type { RewardManifest } from './manifest.js';
import type { AdaptedSession, Output } from './session.js';

/** The input names a reward's manifest entry declares, in the order they are listed. */
export function rewardInputs(r: RewardManifest): string[] {
  return [r.inputs.image, ...(r.kind === 'image_text' && r.inputs.text ? [r.inputs.text] : []), ...(r.inputs.mask ? [r.inputs.mask] : [])];
}

const fmt = (shape: readonly (number | string)[]): string => `[${shape.join(', ')}]`;

/**
 * Checks at load that a reward graph gives one score per image as the manifest says: `value` needs an
 * output [B] or [B, 1]; `diagonal` needs [B, B] (image x text similarities, read on the diagonal). A
 * stock CLIP export's logits_per_image declared as `value` would score image 0's text against every
 * image, so it is refused here, naming the output.
 */
export function checkRewardOutput(s: AdaptedSession, r: RewardManifest, what: string): void {
  const shape = s.outputShape(r.output);
  if (!shape) throw new BadFileError(s.file, `the ${what} output ${r.output} is not a tensor; expected scores`);
  const d1 = shape[1];
  const ok = r.score === 'diagonal' ? shape.length === 2 && d1 !== 1 : shape.length === 1 || (shape.length === 2 && d1 === 1);
  if (ok) return;
  const hint = r.score === 'value' && shape.length === 2 && typeof d1 === 'string' ? ' (a [B, B] image-text similarity needs score: diagonal)' : '';
  throw new BadFileError(s.file, `the ${what} output ${r.output} has shape ${fmt(shape)}; expected ${r.score === 'diagonal' ? '[batch, batch] (score: diagonal)' : '[batch] or [batch, 1] (score: value)'}${hint}`);
}

/** One score per image from a reward output of B images, scaled as the manifest says. */
export function scoresOf(o: Output, B: number, r: RewardManifest, file: string): Float32Array {
  const want = r.score === 'diagonal' ? [B, B] : o.dims.length === 1 ? [B] : [B, 1];
  if (o.dims.length !== want.length || o.dims.some((d, i) => d !== want[i])) throw new BadFileError(file, `output ${r.output} came back ${fmt(o.dims)} for ${B} images; expected ${fmt(want)}`);
  const out = r.score === 'diagonal' ? Float32Array.from({ length: B }, (_, i) => o.data[i * B + i] as number) : o.data.slice(0, B);
  if (r.scale) for (let i = 0; i < B; i++) out[i] = ((out[i] as number) - r.scale.mean) / r.scale.std;
  return out;
}
