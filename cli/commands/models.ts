import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseNumberIn } from '../../core/number-range.js';
import { bundleCost, withCost } from '../../worker/onnx/bundle-cost.js';
import { loadManifest, MANIFEST_FILE } from '../../worker/onnx/manifest.js';
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
    .command('check')
    .description('load every model of a bundle and check names, dtypes and shapes against the manifest')
    .argument('<bundle>', 'model bundle folder')
    .option('--provider <p>', 'auto | cpu | cuda', 'cpu')
    .action(async (bundle: string, flags: { provider: string }) => {
      const { loadBundle } = await import('../../worker/onnx/bundle.js');
      const provider = flags.provider === 'cuda' || flags.provider === 'auto' ? flags.provider : 'cpu';
      const b = await loadBundle(bundle, { provider, threads: 0, log: (l) => process.stderr.write(`${l}\n`) });
      const m = b.manifest;
      const rewards = [...b.rewards.values()].map((r) => `${r.name} (noise-aware at steps ${[...r.byStep.keys()].join(', ') || 'none'})`);
      process.stdout.write(`ok: ${m.name}, ${b.scheduler.kind} ${b.scheduler.steps} steps (${m.prediction}), latent ${m.latent.channels}x${m.latent.height}x${m.latent.width}, image ${m.image.height}x${m.image.width}, provider ${b.provider}\nrewards: ${rewards.join('; ')}\n`);
      const sessions = [b.textEncoder, b.unet, b.decoder, ...[...b.rewards.values()].flatMap((r) => [r.base, ...r.byStep.values()])];
      await Promise.all(sessions.map((s) => s.close()));
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
