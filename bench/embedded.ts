import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { parseInteger } from '../cli/options.js';
import { syntheticTrace } from '../core/trace/synthetic.js';
import { writeNpy } from '../core/trace/npy.js';
import { spread, type Spread } from './spread.js';

/**
 * Embedded search at scale: `ttsnap search` (in-process coordinator and trace workers, no simulated time) on a
 * synthetic trace of P prompts x N candidates, run as a whole process for a start-up job (a few prompts), a
 * tenth of the trace and the whole of it, several rounds in turn. The cost of a candidate past the fixed
 * start-up is (wall(job) - wall(start-up job)) / (candidates(job) - candidates(start-up job)); the figure the
 * issue asks is that cost at the whole trace over that at its tenth (linear: about 1).
 */
const o = new Command('bench:embedded')
  .option('--prompts <n>', 'prompts of the large job (the small one has a tenth)', '5000')
  .option('--candidates <n>', 'candidates per prompt', '200')
  .option('--startup-prompts <n>', 'prompts of the start-up job', '10')
  .option('--rounds <n>', 'rounds of the three jobs', '3')
  .option('--json', 'print only the JSON line')
  .parse(process.argv)
  .opts<Record<string, string | boolean | undefined>>();
const prompts = parseInteger('--prompts', 100, 100_000)(String(o.prompts));
const candidates = parseInteger('--candidates', 2, 1000)(String(o.candidates));
const startup = parseInteger('--startup-prompts', 1, Math.floor(prompts / 10) - 1)(String(o.startupPrompts));
const rounds = parseInteger('--rounds', 1, 20)(String(o.rounds));
const CLI = join(import.meta.dirname, '..', 'cli', 'main.js');
const say = (line: string): void => void (o.json ? undefined : process.stderr.write(`${line}\n`));

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-embedded-'));
const base = join(dir, 'e_base.npy');
const narf = join(dir, 'e_narf.npy');
const trace = syntheticTrace({ prompts, candidates, steps: 20, seed: 7 });
writeNpy(base, { shape: [prompts, candidates, 20], data: trace.base });
writeNpy(narf, { shape: [prompts, candidates, 20], data: trace.narf });

/** Wall seconds of one embedded search over the first `p` prompts (its JSON result is read and dropped). */
function searchSeconds(p: number): Promise<number> {
  const args = [CLI, 'search', '--backend', 'trace', '--base', base, '--narf', narf, '--prompts', `0:${p}`, '--candidates', String(candidates), '--json', '--quiet'];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => void (err = (err + b.toString()).slice(-4000)));
    child.once('exit', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`search --prompts 0:${p} exited ${code}: ${err}`))));
  });
}

const round = (x: number, d = 2): number => Number(x.toFixed(d));

const small = Math.floor(prompts / 10);
const perRound: { startup_s: number; small_s: number; large_s: number; us_small: number; us_large: number; ratio: number }[] = [];
try {
  for (let r = 1; r <= rounds; r++) {
    // the three jobs in turn, so a drift in the machine's load touches each alike
    const s0 = await searchSeconds(startup);
    const s1 = await searchSeconds(small);
    const s2 = await searchSeconds(prompts);
    const us = (s: number, p: number): number => ((s - s0) * 1e6) / ((p - startup) * candidates);
    const fig = { startup_s: round(s0), small_s: round(s1), large_s: round(s2), us_small: round(us(s1, small)), us_large: round(us(s2, prompts)), ratio: round(us(s2, prompts) / us(s1, small), 3) };
    perRound.push(fig);
    say(`round ${r}/${rounds}: start-up ${fig.startup_s} s; ${small * candidates} candidates ${fig.small_s} s (${fig.us_small} us each past start-up); ${prompts * candidates} candidates ${fig.large_s} s (${fig.us_large} us); ratio ${fig.ratio}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const pick = (k: keyof (typeof perRound)[number]): Spread => spread(perRound.map((f) => f[k]), 3);
process.stdout.write(
  `${JSON.stringify({
    candidates: prompts * candidates,
    small_candidates: small * candidates,
    startup_prompts: startup,
    rounds,
    startup_s: pick('startup_s'),
    us_per_candidate_small: pick('us_small'),
    us_per_candidate_large: pick('us_large'),
    ratio: pick('ratio'),
  })}\n`,
);
