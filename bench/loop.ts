import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { tinyPrompts } from './loop/prompts.js';

/**
 * `npm run bench:loop [-- --bundle DIR --train-prompts FILE --held-out-prompts FILE ...]`: the loop on a model
 * bundle, each step the command a user runs (stderr shows them):
 *   1. collect on the training prompts, saving Tweedie images at the NARF curriculum's steps;
 *   2. train NARF on them (models/recipe/narf_distill.py) into a copy of the bundle;
 *   3. collect on the training prompts again and on the held-out prompts with the new variants;
 *   4. tune on the training traces (the tuner prunes only at variant steps);
 *   5. simulate the tuned schedules on the held-out traces, and `narf eval` them; the tuner chose them for TTSnap,
 *      and TTSp runs them too, so TTSp is also tuned for itself on the base reward alone (any step) and simulated;
 *   6. throughput: `search --policy bon` on the held-out prompts and seeds, against collect's, in cost units/s.
 * Prints one JSON line (reward, tau per variant step, relative increase of TTSnap and TTSp over best-of-N (and of TTSp
 * with its own schedule), held-out
 * prompts, seeds, the tuned schedules, throughput). Defaults: the tiny bundle and prompts drawn from its grammar
 * (--prompt-seed picks another draw, for the spread of the figures over prompt sets).
 */
const { values: o } = parseArgs({
  options: {
    bundle: { type: 'string', default: fileURLToPath(new URL('../../models/tiny', import.meta.url)) },
    'train-prompts': { type: 'string' },
    'held-out-prompts': { type: 'string' },
    prompts: { type: 'string', default: '32' },
    'prompt-seed': { type: 'string', default: '0' },
    seeds: { type: 'string', default: '32' },
    reward: { type: 'string' },
    define: { type: 'string', default: 'tiny_rewards' },
    curriculum: { type: 'string', default: '17,14,11,8,6,4,2' },
    ship: { type: 'string', default: '11,6,2' },
    epochs: { type: 'string', default: '2' },
    lr: { type: 'string', default: '1e-4' },
    'max-batch': { type: 'string', default: '32' },
    'tune-seconds': { type: 'string', default: '60' },
    work: { type: 'string' },
    // skips step 6 (a best-of-N search of every held-out prompt, for the throughput figure only)
    'skip-throughput': { type: 'boolean', default: false },
  },
});
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const recipe = fileURLToPath(new URL('../../models/recipe/', import.meta.url));
const python = process.env.TTSNAP_PYTHON ?? '/usr/bin/python3';
const work = o.work ?? mkdtempSync(join(tmpdir(), 'ttsnap-loop-'));
mkdirSync(work, { recursive: true });
const seeds = Number(o.seeds);
const backend = ['--max-batch', o['max-batch'] as string];

/** Runs a step, echoing it on stderr; `log: true` sends its stdout to stderr too (the recipe's progress), else returns it. */
function run(cmd: string, args: readonly string[], opts: { cwd?: string; log?: boolean } = {}): { stdout: string; seconds: number } {
  process.stderr.write(`bench:loop $ ${cmd === process.execPath ? 'ttsnap' : cmd} ${(cmd === process.execPath ? args.slice(1) : args).join(' ')}\n`);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, stdio: ['ignore', opts.log ? 2 : 'pipe', 'inherit'], maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`bench:loop: ${cmd} ${args.join(' ')} exited ${r.status}`);
  return { stdout: r.stdout ?? '', seconds: (performance.now() - t0) / 1000 };
}
const ttsnap = <T>(args: readonly string[]): T => JSON.parse(run(process.execPath, [cli, ...args, '--json']).stdout) as T;

function promptFiles(): { train: string; heldOut: string } {
  if (o['train-prompts'] && o['held-out-prompts']) return { train: o['train-prompts'], heldOut: o['held-out-prompts'] };
  const n = Number(o.prompts);
  const p = tinyPrompts(n, n, Number(o['prompt-seed']));
  writeFileSync(join(work, 'train.txt'), `${p.train.join('\n')}\n`);
  writeFileSync(join(work, 'held-out.txt'), `${p.heldOut.join('\n')}\n`);
  return { train: join(work, 'train.txt'), heldOut: join(work, 'held-out.txt') };
}

interface CollectSummary { prompts: number; seconds: number; cost_per_second: number; candidates_per_second: number; ledger: { cost: number } }
interface Meta { narf_steps: number[]; cost: { denoise: number; verify: number } }
interface Agreement { steps: { step: number; variant: boolean; kendall: Record<'base' | 'narf', { mean: number; ci95: [number, number] }> }[] }
interface Sim { relative_increase_pct: { ttsnap: number; ttsp: number }; budgets: number[]; candidates: { bon: number[]; ttsnap: number[] } }
interface Search { ledger: { cost: number }; timeline: { makespan_s: number } }

const prompts = promptFiles();
const manifest = JSON.parse(readFileSync(join(o.bundle, 'ttsnap.json'), 'utf8')) as { default_rewards: string[] };
const reward = o.reward ?? (manifest.default_rewards[0] as string);
const collect = (model: string, file: string, out: string, seed: number, extra: string[] = []): CollectSummary =>
  ttsnap<CollectSummary>(['collect', '--model', model, '--prompts-file', file, '--seeds', String(seeds), '--seed', String(seed), '--rewards', reward, '--out', out, ...backend, ...extra]);

// 1-2: NARF from the training prompts
collect(o.bundle, prompts.train, join(work, 'train-base'), 0, ['--save-tweedie', o.curriculum as string]);
const bundle = join(work, 'bundle');
if (!existsSync(bundle)) cpSync(o.bundle, bundle, { recursive: true });
const narf = run(python, [join(recipe, 'narf_distill.py'), '--collect', join(work, 'train-base'), '--bundle', bundle, '--reward', reward, '--define', o.define as string,
  '--curriculum', o.curriculum as string, '--ship', o.ship as string, '--epochs', o.epochs as string, '--lr', o.lr as string], { cwd: recipe, log: true });
// 3: traces with the new variants (held-out candidates from another seed)
collect(bundle, prompts.train, join(work, 'train'), 0);
const held = collect(bundle, prompts.heldOut, join(work, 'held-out'), 1);
const meta = (JSON.parse(readFileSync(join(work, 'held-out', 'meta.json'), 'utf8')) as Record<string, Meta>)[reward] as Meta;
// 4: tune on the training traces. Costs in units of one best-of-N candidate (the metric does not change under
// a common scale), so that the budgets 2..8 buy best-of-N 2..8 candidates.
const steps = (JSON.parse(readFileSync(join(work, 'held-out', 'collect.json'), 'utf8')) as { steps: number }).steps;
const unit = steps * meta.cost.denoise + meta.cost.verify;
const budgets = '2:8:0.5';
const cost = `denoise=${meta.cost.denoise / unit},verify=${meta.cost.verify / unit}`;
const nTrain = readFileSync(prompts.train, 'utf8').split('\n').filter(Boolean).length;
const split = Math.round(nTrain * 0.75);
const grid = ['--budgets', budgets, '--cost', cost];
const tune = (trace: string[], out: string): unknown =>
  ttsnap(['tune', ...trace, '--prompts-train', `0:${split}`, '--prompts-val', `${split}:${nTrain}`, ...grid, '--max-seconds', o['tune-seconds'] as string, '--threads', '1', '--out', out]);
tune(['--trace-dir', join(work, 'train')], join(work, 'schedules'));
// 5: held-out figures
const heldArgs = ['--base', join(work, 'held-out', `${reward}_base.npy`), '--narf', join(work, 'held-out', `${reward}_narf.npy`)];
const sim = ttsnap<Sim>(['simulate', ...heldArgs, '--schedule-file', join(work, 'schedules', `${reward}.json`), ...grid, '--draws', '200']);
const agreement = ttsnap<Agreement>(['narf', 'eval', ...heldArgs]);
// TTSp with a schedule tuned for it: the base reward exists at every step, so its tuner may prune anywhere
tune(['--base', join(work, 'train', `${reward}_base.npy`)], join(work, 'schedules', `${reward}-ttsp.json`));
const ttspOwn = ttsnap<Sim>(['simulate', '--base', join(work, 'held-out', `${reward}_base.npy`), '--schedule-file', join(work, 'schedules', `${reward}-ttsp.json`), ...grid, '--draws', '200']);
// 6: best-of-N on the same held-out candidates, its ledger cost over its makespan
const texts = readFileSync(prompts.heldOut, 'utf8').split('\n').filter(Boolean);
const bon = o['skip-throughput'] ? null : ttsnap<Search>(['search', ...texts, '--model', bundle, '--policy', 'bon', '--candidates', String(seeds), '--seed', '1', '--reward', reward, ...backend, '--out', join(work, 'search')]);
const bonRate = bon ? bon.ledger.cost / bon.timeline.makespan_s : Number.NaN;

const tau = Object.fromEntries(
  agreement.steps.filter((s) => s.variant).map((s) => [String(s.step), { base: round(s.kendall.base.mean), narf: round(s.kendall.narf.mean), base_ci95: s.kendall.base.ci95.map(round), narf_ci95: s.kendall.narf.ci95.map(round) }]),
);
const line = {
  bench: 'loop',
  reward,
  tau,
  relative_increase_pct: { ttsnap: round(sim.relative_increase_pct.ttsnap), ttsp: round(sim.relative_increase_pct.ttsp) },
  // on the base trace alone TTSnap's figure is TTSp's
  ttsp_own_schedule_pct: round(ttspOwn.relative_increase_pct.ttsnap),
  ttsp_own_plans: (JSON.parse(readFileSync(join(work, 'schedules', `${reward}-ttsp.json`), 'utf8')) as { tuned: { plans: unknown } }).tuned.plans,
  held_out_prompts: texts.length,
  seeds,
  schedules: JSON.parse(readFileSync(join(work, 'schedules', `${reward}.json`), 'utf8')) as unknown,
  candidates_per_budget: sim.candidates,
  throughput_cost_per_s: bon ? { collect: Number(held.cost_per_second.toPrecision(4)), search_bon: Number(bonRate.toPrecision(4)), ratio: round(held.cost_per_second / bonRate) } : null,
  narf_training_s: Math.round(narf.seconds),
  load_avg_1m_at_end: round(loadavg()[0] as number),
  work,
};
process.stdout.write(`${JSON.stringify(line)}\n`);

function round(x: number): number {
  return Number(x.toFixed(3));
}
