import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BadFileError } from '../../core/errors.js';

const Preprocess = z.strictObject({
  /** shorter side resized to this many pixels, antialiased as PIL and torchvision (antialias=True) do */
  resize: z.number().int().positive(),
  /** then a centre crop of crop x crop */
  crop: z.number().int().positive(),
  mean: z.tuple([z.number(), z.number(), z.number()]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  /** the resize filter (CLIP and BLIP processors: bicubic, PIL's resample 3) */
  resample: z.enum(['bicubic', 'bilinear']).default('bicubic'),
});

const Reward = z.strictObject({
  kind: z.enum(['image', 'image_text']),
  file: z.string().min(1),
  /** input names: pixels, token ids, and the attention mask where the model takes one */
  inputs: z.strictObject({ image: z.string().min(1), text: z.string().min(1).optional(), mask: z.string().min(1).optional() }),
  output: z.string().min(1),
  /** how the output gives one score per image: `value` for [B] or [B,1], `diagonal` for a [B,B] image-text similarity (CLIP logits_per_image) */
  score: z.enum(['value', 'diagonal']).default('value'),
  /** the score reported is (output - mean) / std (ImageReward's published normalisation) */
  scale: z.strictObject({ mean: z.number(), std: z.number().positive() }).optional(),
  /** tokenizer folder (relative to the bundle) and its padded length; default the bundle's tokenizer and text.max_length */
  tokenizer: z.string().min(1).optional(),
  max_length: z.number().int().positive().optional(),
  preprocess: Preprocess,
  /** 0-based sampling step index -> ONNX file of the noise-aware variant trained on that step's Tweedie estimate */
  noise_aware: z.record(z.string().regex(/^\d+$/, 'a step index'), z.string().min(1)).default({}),
});

/** ttsnap.json, the bundle's manifest (models/BUNDLE layout; see /work/notes/BUNDLE.md). */
export const ManifestSchema = z.looseObject({
  format: z.literal('ttsnap-bundle/1'),
  name: z.string().min(1),
  /** which denoiser signature and text conditioning the bundle has (worker/onnx/layout.ts); checked against the graphs at load */
  layout: z.enum(['sd', 'sdxl', 'sd3', 'flux']).default('sd'),
  prediction: z.enum(['epsilon', 'v_prediction', 'flow']),
  image: z.strictObject({ height: z.number().int().positive(), width: z.number().int().positive() }),
  latent: z.strictObject({
    channels: z.number().int().positive(),
    height: z.number().int().positive(),
    width: z.number().int().positive(),
    scaling_factor: z.number().positive(),
    /** the decoder sees latent / scaling_factor + shift_factor (SD3, FLUX) */
    shift_factor: z.number().default(0),
  }),
  sampling: z.looseObject({
    steps: z.number().int().min(2).max(1000),
    guidance_scale: z.number().min(0),
    negative_prompt: z.string().default(''),
    /** overrides the sampler chosen from the scheduler class */
    scheduler: z.enum(['ddim', 'euler', 'euler_ancestral', 'flow_euler']).optional(),
    /** FLUX's dynamic shift */
    mu: z.number().optional(),
    /** the model's timestep input = scheduler timestep * timestep_scale (FLUX: 0.001) */
    timestep_scale: z.number().positive().default(1),
    /** `linspace`: FluxPipeline's own sigmas linspace(1, 1/S, S); `scheduler`: the scheduler's set_timesteps */
    sigmas: z.enum(['scheduler', 'linspace']).default('scheduler'),
    /** SDXL's force_zeros_for_empty_prompt: an empty negative prompt is all-zero embeddings */
    zero_empty_negative: z.boolean().default(false),
    /** the prune schedule `search` uses when none is given (step:alpha,...; empty = best-of-N) */
    schedule: z.string().optional(),
  }),
  /** CLIP token length, and the T5 sequence length of SD3 / FLUX */
  text: z.strictObject({ max_length: z.number().int().positive(), t5_max_length: z.number().int().positive().optional() }),
  cost: z.looseObject({
    unit: z.string().default('TFLOPs'),
    denoise: z.number().min(0),
    verify: z.record(z.string(), z.number().min(0)),
  }),
  rewards: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a reward name'), Reward),
  /** empty until a reward is attached (`ttsnap models add-reward`); search needs one */
  default_rewards: z.array(z.string()),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type RewardManifest = z.infer<typeof Reward>;
export type PreprocessSpec = z.infer<typeof Preprocess>;

export const MANIFEST_FILE = 'ttsnap.json';

/** Reads and validates a bundle's ttsnap.json; every problem is a BadFileError naming the file and the field. */
export function loadManifest(dir: string): Manifest {
  const file = join(dir, MANIFEST_FILE);
  return parseManifest(readJson(file, 'a ttsnap-bundle/1 manifest'), file);
}

/** Validates a parsed manifest (`file` names it in errors): pure, so that it can be fuzzed without files. */
export function parseManifest(raw: unknown, file: string): Manifest {
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new BadFileError(file, `field ${path}: ${issue?.message ?? 'invalid'} (expected a ttsnap-bundle/1 manifest)`);
  }
  const m = parsed.data;
  for (const name of m.default_rewards) {
    if (!m.rewards[name]) throw new BadFileError(file, `default_rewards names '${name}', expected one of: ${Object.keys(m.rewards).join(', ')}`);
  }
  for (const [name, r] of Object.entries(m.rewards)) {
    if (r.inputs.mask && !r.inputs.text) throw new BadFileError(file, `rewards.${name}.inputs.mask: given without inputs.text, expected the attention mask of the text input`);
    if (r.kind === 'image_text' && !r.inputs.text) throw new BadFileError(file, `rewards.${name}.inputs.text: missing, expected the text input name of an image_text reward`);
    for (const step of Object.keys(r.noise_aware)) {
      if (Number(step) >= m.sampling.steps) throw new BadFileError(file, `rewards.${name}.noise_aware: step ${step} is outside [0, ${m.sampling.steps - 1}] (sampling.steps - 1)`);
    }
  }
  return m;
}

/** JSON.parse of a file, with a BadFileError saying what was expected when it is missing or unreadable. */
export function readJson(file: string, expected: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BadFileError(file, `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'}); expected ${expected}`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new BadFileError(file, `not valid JSON (${(err as Error).message}); expected ${expected}`, { cause: err });
  }
}
