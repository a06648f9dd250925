import { cpSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BadFileError } from '../../core/errors.js';
import { readOnnxGraph } from './graph.js';
import { readJson, type Manifest, type RewardManifest } from './manifest.js';

export interface AddRewardOptions {
  /** the output to score with (default: logits_per_image read on its diagonal, else the only [B]/[B,1] output) */
  readonly output?: string;
  /** token length (default: tokenizer_config.json model_max_length, at most 77) */
  readonly maxLength?: number;
  /** report (output - mean) / std */
  readonly scale?: { readonly mean: number; readonly std: number };
}

type Json = Record<string, unknown>;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * The manifest entry of a reward model folder (model.onnx, preprocessor_config.json, tokenizer files), read
 * from the graph's inputs and outputs and the image processor's config, as it will sit at rewards/<name>/.
 * Inputs: one image input (rank 4), and optionally token ids and an attention mask (names as Optimum
 * exports them); anything else is refused naming the input.
 */
export function rewardEntry(src: string, name: string, opts: AddRewardOptions = {}): RewardManifest {
  const file = join(src, 'model.onnx');
  if (!existsSync(file)) throw new BadFileError(file, 'missing; expected the reward model as model.onnx in the reward folder');
  const g = readOnnxGraph(file);
  let image: string | undefined;
  let text: string | undefined;
  let mask: string | undefined;
  for (const [input, dims] of g.inputs) {
    if (dims.length === 4) image = input;
    else if (input === 'input_ids') text = input;
    else if (input === 'attention_mask') mask = input;
    else throw new BadFileError(file, `input ${input} is not supported; supported reward inputs: pixel values [B, 3, H, W], input_ids [B, L], attention_mask [B, L]`);
  }
  if (!image) throw new BadFileError(file, `has inputs [${[...g.inputs.keys()].join(', ')}], expected an image input [B, 3, H, W]`);
  const outs = [...g.outputs.keys()];
  const output = opts.output ?? (g.outputs.has('logits_per_image') ? 'logits_per_image' : outs.length === 1 ? outs[0] : outs.find((o) => (g.outputs.get(o) ?? []).length === 1));
  if (!output || !g.outputs.has(output)) throw new BadFileError(file, `has outputs [${outs.join(', ')}]; expected one score output (choose it with --output)`);
  const pre = join(src, 'preprocessor_config.json');
  const p = readJson(pre, "the image processor's config (preprocessor_config.json)") as Json;
  const size = p.size as Json | number | undefined;
  const resize = num(size) ?? num((size as Json | undefined)?.shortest_edge) ?? num((size as Json | undefined)?.height);
  const crop = num(p.crop_size) ?? num((p.crop_size as Json | undefined)?.height) ?? resize;
  const mean = p.image_mean;
  const std = p.image_std;
  if (resize === undefined || crop === undefined || !Array.isArray(mean) || !Array.isArray(std) || mean.length !== 3 || std.length !== 3) {
    throw new BadFileError(pre, 'expected size (shortest_edge), crop_size, image_mean[3] and image_std[3] as CLIP/BLIP image processors write them');
  }
  const resample = p.resample === 2 ? 'bilinear' : p.resample === undefined || p.resample === 3 ? 'bicubic' : undefined;
  if (!resample) throw new BadFileError(pre, `resample ${String(p.resample)} is not supported; expected 3 (bicubic) or 2 (bilinear)`);
  const tokCfgFile = join(src, 'tokenizer_config.json');
  const tokCfg = (existsSync(tokCfgFile) ? readJson(tokCfgFile, 'a tokenizer config') : {}) as Json;
  const dir = `rewards/${name}`;
  return {
    kind: text ? 'image_text' : 'image',
    file: `${dir}/model.onnx`,
    inputs: { image, ...(text ? { text } : {}), ...(mask ? { mask } : {}) },
    output,
    score: output === 'logits_per_image' ? 'diagonal' : 'value',
    ...(opts.scale ? { scale: { ...opts.scale } } : {}),
    ...(text ? { tokenizer: dir, max_length: opts.maxLength ?? Math.min(num(tokCfg.model_max_length) ?? 77, 77) } : {}),
    preprocess: { resize, crop, mean: [Number(mean[0]), Number(mean[1]), Number(mean[2])], std: [Number(std[0]), Number(std[1]), Number(std[2])], resample },
    noise_aware: {},
  };
}

/** Copies a reward folder into the bundle at rewards/<name>/ and returns the manifest with it (the first reward becomes the default). */
export function addReward(bundleDir: string, m: Manifest, name: string, srcIn: string, opts: AddRewardOptions = {}): { manifest: Manifest; undo: () => void } {
  const src = resolve(srcIn);
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) throw new BadFileError(src, `reward name '${name}' is not allowed; expected a letter then letters, digits, _ or -`);
  if (m.rewards[name]) throw new BadFileError(join(bundleDir, 'ttsnap.json'), `already has a reward '${name}'; expected a new name`);
  const entry = rewardEntry(src, name, opts);
  const dst = join(resolve(bundleDir), 'rewards', name);
  cpSync(src, dst, { recursive: true });
  const manifest: Manifest = { ...m, rewards: { ...m.rewards, [name]: entry }, default_rewards: m.default_rewards.length ? m.default_rewards : [name] };
  return { manifest, undo: () => rmSync(dst, { recursive: true, force: true }) };
}
