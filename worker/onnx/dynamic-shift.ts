/**
 * FLUX dev's resolution-dependent shift (diffusers' calculate_shift): mu is linear in the image's token count,
 * base_shift at base_image_seq_len and max_shift at max_image_seq_len (diffusers' defaults where the scheduler
 * config leaves them out). `ttsnap models init` writes the bundle size's mu into the manifest; other sizes
 * follow the same line.
 */
export function dynamicShiftMu(config: unknown, imageSeqLen: number): number {
  const c = (typeof config === 'object' && config !== null ? config : {}) as Record<string, unknown>;
  const num = (k: string, d: number): number => (typeof c[k] === 'number' ? (c[k] as number) : d);
  const [bs, ms, bl, ml] = [num('base_shift', 0.5), num('max_shift', 1.15), num('base_image_seq_len', 256), num('max_image_seq_len', 4096)];
  const m = (ms - bs) / (ml - bl);
  return imageSeqLen * m + bs - m * bl;
}
