import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseNumberIn } from '../../core/number-range.js';
import { bundleCost, withCost } from '../../worker/onnx/bundle-cost.js';
import { loadManifest, MANIFEST_FILE } from '../../worker/onnx/manifest.js';
import { ValidationError } from '../../core/errors.js';
import { parseInteger } from '../options.js';

interface SampleFlags {
  seeds: string;
  seed: string;
  guidance?: string;
  steps?: string;
  out: string;
}

interface CostFlags {
  json?: boolean;
  write?: boolean;
  guidance?: string;
}

/** `ttsnap models cost|check <bundle>`: the model bundle's cost figures from its graphs, and a load check. */
export function registerModels(program: Command): void {
  const models = program.command('models').description('inspect model bundles (cost from the ONNX graphs, load check)');
  models
    .command('cost')
    .description('FLOPs of a denoise step and of each reward call, from the ONNX graphs (Conv, MatMul, Gemm, attention by shape)')
    .argument('<bundle>', 'model bundle folder (ttsnap.json, unet/, vae_decoder/, rewards/...)')
    .option('--json', 'print the figures as JSON')
    .option('--write', "store denoise and verify in the bundle's ttsnap.json")
    .option('--guidance <g>', 'guidance scale deciding the UNet passes per step (default: the manifest)')
    .action((bundle: string, flags: CostFlags) => {
      const g = flags.guidance === undefined ? undefined : parseNumberIn('--guidance', flags.guidance, { min: 0, max: 100 });
      const cost = bundleCost(bundle, g);
      if (flags.write) {
        const file = join(resolve(bundle), MANIFEST_FILE);
        writeFileSync(file, `${JSON.stringify(withCost(loadManifest(bundle), cost), null, 2)}\n`);
      }
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(cost)}\n`);
        return;
      }
      const f = (x: number): string => x.toExponential(4);
      const lines = [`denoise step (${cost.passes} UNet pass${cost.passes > 1 ? 'es' : ''}): ${f(cost.denoise)} TFLOPs`];
      for (const [name, v] of Object.entries(cost.verify)) lines.push(`reward call '${name}' (decode + reward): ${f(v)} TFLOPs`);
      lines.push(`text encoder (once per prompt): ${f(cost.textEncoder)} TFLOPs`, '', 'model            TFLOPs      uncounted nodes');
      for (const [k, m] of Object.entries(cost.models)) lines.push(`${k.padEnd(16)} ${f(m.tflops).padEnd(11)} ${m.uncounted}`);
      if (flags.write) lines.push('', `wrote cost to ${join(resolve(bundle), MANIFEST_FILE)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  models
    .command('init')
    .description('write ttsnap.json for a folder exported by optimum-cli export onnx (layout, sampling defaults, measured costs, default schedule)')
    .argument('<dir>', 'the exported folder (model_index.json, unet/ or transformer/, text_encoder*/, vae_decoder/, scheduler/)')
    .option('--steps <n>', 'sampling steps (default: the diffusers pipeline default; 4 for Turbo/schnell)')
    .option('--guidance <g>', 'guidance scale (default: the pipeline default; 0 for Turbo/schnell)')
    .option('--name <name>', 'bundle name (default: the folder name)')
    .action(async (dir: string, flags: { steps?: string; guidance?: string; name?: string }) => {
      const { initBundle } = await import('../../worker/onnx/init.js');
      const steps = flags.steps === undefined ? undefined : parseInteger('--steps', 2, 1000)(flags.steps);
      const guidance = flags.guidance === undefined ? undefined : parseNumberIn('--guidance', flags.guidance, { min: 0, max: 100 });
      const { manifest: m, notes } = initBundle(dir, { ...(steps !== undefined ? { steps } : {}), ...(guidance !== undefined ? { guidance } : {}), ...(flags.name ? { name: flags.name } : {}) });
      const lines = [
        `wrote ${join(resolve(dir), MANIFEST_FILE)}: ${m.name}, layout ${m.layout}, ${m.sampling.scheduler ?? ''} ${m.sampling.steps} steps, guidance ${m.sampling.guidance_scale}, image ${m.image.height}x${m.image.width}, denoise ${m.cost.denoise.toExponential(3)} TFLOPs/step`,
        ...notes.map((n) => `note: ${n}`),
        `no reward yet: attach one with ttsnap models add-reward ${dir} NAME REWARD_DIR`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  models
    .command('add-reward')
    .description('attach a reward model folder (model.onnx, preprocessor_config.json, tokenizer files) as rewards/NAME')
    .argument('<dir>', 'model bundle folder (after models init)')
    .argument('<name>', 'reward name')
    .argument('<path>', 'reward folder')
    .option('--output <name>', 'the output to score with (default: logits_per_image on its diagonal, else the only score output)')
    .option('--max-length <n>', 'token length (default: tokenizer_config.json model_max_length, at most 77)')
    .option('--score-mean <m>', 'report (output - m) / s')
    .option('--score-std <s>', 'report (output - m) / s')
    .action(async (dir: string, name: string, path: string, flags: { output?: string; maxLength?: string; scoreMean?: string; scoreStd?: string }) => {
      const { addRewardToBundle } = await import('../../worker/onnx/init.js');
      if ((flags.scoreMean === undefined) !== (flags.scoreStd === undefined)) throw new ValidationError('--score-mean', 'given without --score-std (or the reverse)', 'both or neither');
      const scale = flags.scoreMean === undefined ? undefined : { mean: parseNumberIn('--score-mean', flags.scoreMean, { min: -Infinity, max: Infinity }), std: parseNumberIn('--score-std', flags.scoreStd, { min: 0, max: Infinity, aboveMin: true }) };
      const m = await addRewardToBundle(dir, name, path, { ...(flags.output ? { output: flags.output } : {}), ...(flags.maxLength ? { maxLength: parseInteger('--max-length', 1, 4096)(flags.maxLength) } : {}), ...(scale ? { scale } : {}) }, { provider: 'cpu', threads: 0, log: (l) => process.stderr.write(`${l}\n`) });
      const r = m.rewards[name];
      process.stdout.write(`added reward ${name}: ${r?.kind}, inputs ${Object.values(r?.inputs ?? {}).join(', ')}, output ${r?.output} (${r?.score}), ${r?.preprocess.resample} ${r?.preprocess.resize} -> crop ${r?.preprocess.crop}; default rewards: ${m.default_rewards.join(', ')}; schedule: ${m.sampling.schedule || 'best-of-N'}\n`);
    });
  models
    .command('check')
    .description('load every model of a bundle and check names, dtypes and shapes against the manifest')
    .argument('<bundle>', 'model bundle folder')
    .option('--provider <p>', 'auto | cpu | cuda', 'cpu')
    .action(async (bundle: string, flags: { provider: string }) => {
      const { bundleSessions, loadBundle } = await import('../../worker/onnx/bundle.js');
      const provider = flags.provider === 'cuda' || flags.provider === 'auto' ? flags.provider : 'cpu';
      const b = await loadBundle(bundle, { provider, threads: 0, log: (l) => process.stderr.write(`${l}\n`) });
      const m = b.manifest;
      const rewards = [...b.rewards.values()].map((r) => `${r.name} (noise-aware at steps ${[...r.byStep.keys()].join(', ') || 'none'})`);
      const none = `none; search needs one: ttsnap models add-reward ${bundle} NAME REWARD_DIR`;
      process.stdout.write(`ok: ${m.name}, layout ${m.layout}, ${b.scheduler.kind} ${b.scheduler.steps} steps (${m.prediction}), latent ${m.latent.channels}x${m.latent.height}x${m.latent.width}, image ${m.image.height}x${m.image.width}, provider ${b.provider}, ${b.denoiser.mixedSteps ? 'mixed-step batches' : 'batches grouped by step'}\nrewards: ${rewards.join('; ') || none}\n`);
      await Promise.all(bundleSessions(b).map((s) => s.close()));
    });
  models
    .command('sample')
    .description('draw every prompt with several seeds (full denoise, no search) into one PNG grid: rows = prompts, columns = seeds')
    .argument('<bundle>', 'model bundle folder')
    .argument('<prompts...>', 'prompt texts')
    .option('--seeds <n>', 'seeds per prompt (columns)', '4')
    .option('--seed <s>', 'first seed; column c uses seed + c', '0')
    .option('--guidance <g>', 'classifier-free guidance scale (default: the manifest)')
    .option('--steps <n>', 'sampling steps (default: the manifest)')
    .option('--out <file>', 'PNG to write', 'sample_grid.png')
    .action(async (bundle: string, prompts: string[], flags: SampleFlags) => {
      const { sampleGrid } = await import('../../worker/onnx/sample-grid.js');
      const seeds = parseInteger('--seeds', 1, 64)(flags.seeds);
      const seed = parseInteger('--seed', 0, 2 ** 32 - 1 - seeds)(flags.seed);
      const png = await sampleGrid({ bundle, prompts, seeds, seed, ...(flags.guidance !== undefined ? { guidance: flags.guidance } : {}), ...(flags.steps !== undefined ? { steps: flags.steps } : {}) });
      writeFileSync(flags.out, png);
      process.stdout.write(`${prompts.map((p, i) => `row ${i}: ${p}`).join('\n')}\ncolumns: seeds ${seed}..${seed + seeds - 1}\nwrote ${flags.out}\n`);
    });
  // nested subcommands: usage errors must reach main.ts (exit 2) like the top-level ones
  for (const c of models.commands) c.exitOverride();
}
