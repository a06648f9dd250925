import { Command } from 'commander';
import { parseScheduleSpec } from '../core/engine/schedule.js';
import { startEmbedded } from '../process/embedded.js';
import { parseInteger } from '../cli/options.js';
import { parseNumberIn } from '../core/number-range.js';

/**
 * Cluster benchmark: W simulated workers (trace backend, --step-ms per batch step of up to --max-batch
 * candidates) sharing one process with the coordinator, P prompts split into jobs of at most the trace's
 * prompt count (run concurrently: fair share), ~N candidates each. Prints one JSON line
 * { workers, makespan_s, ideal_makespan_s, utilization } where the ideal is the executed work packed into
 * full batches and spread evenly over the workers: (denoise steps / max batch x step time + reward calls /
 * max batch x reward time) / workers.
 */
const TRACES = new URL('../../../shared/traces/', import.meta.url).pathname;

const program = new Command('bench:cluster')
  .option('--workers <n>', 'simulated workers', '16')
  .option('--step-ms <ms>', 'one denoise step of a batch', '20')
  .option('--reward-ms <ms>', 'one reward call on a batch', '0')
  .option('--max-batch <k>', 'candidates per batch', '8')
  .option('--prompts <n>', 'prompts in all', '200')
  .option('--candidates <n>', 'candidates per prompt', '40')
  .option('--schedule <spec>', 'prune points', '2:0.4,6:0.4,11:0.5')
  .option('--queue-factor <x>', 'candidates in flight per worker / max batch', '3')
  .option('--base <file>', 'trace', `${TRACES}flux_pic_base.npy`)
  .option('--narf <file>', 'noise-aware trace', `${TRACES}flux_pic_narf.npy`)
  .option('--json', 'print only the JSON line')
  .parse(process.argv);

const o = program.opts<Record<string, string | boolean | undefined>>();
const workers = parseInteger('--workers', 1, 1024)(String(o.workers));
const stepMs = parseNumberIn('--step-ms', String(o.stepMs), { min: 0, max: 60_000 });
const rewardMs = parseNumberIn('--reward-ms', String(o.rewardMs), { min: 0, max: 60_000 });
const maxBatch = parseInteger('--max-batch', 1, 4096)(String(o.maxBatch));
const totalPrompts = parseInteger('--prompts', 1, 100_000)(String(o.prompts));
const candidates = parseInteger('--candidates', 1, 100_000)(String(o.candidates));

const cluster = await startEmbedded({
  backend: 'trace',
  backendOptions: { base: String(o.base), narf: String(o.narf), stepMs: String(stepMs), rewardMs: String(rewardMs), maxBatch: String(maxBatch) },
  workers,
  coordinator: { queueFactor: parseNumberIn('--queue-factor', String(o.queueFactor), { min: 1, max: 64 }) },
});
const info = cluster.coordinator.backend;
if (!info) throw new Error('no worker');
const schedule = parseScheduleSpec(String(o.schedule), info.steps);
const t0 = performance.now();
const jobs = [];
for (let start = 0, seed = 1; start < totalPrompts; start += info.tracePrompts, seed++) {
  const n = Math.min(info.tracePrompts, totalPrompts - start);
  const prompts = Array.from({ length: n }, (_, i) => i);
  jobs.push(cluster.coordinator.submit({ prompts, candidates, schedule: [...schedule], seed, label: `bench ${seed}` }));
}
await Promise.all(jobs.map((j) => cluster.coordinator.whenEnded(j.id)));
const makespan = (performance.now() - t0) / 1000;
let denoise = 0;
let calls = 0;
let moves = 0;
for (const j of jobs) {
  const l = j.ledger();
  denoise += l.denoise_steps;
  calls += Object.values(l.reward_calls).reduce((a, b) => a + b, 0);
  moves += j.movement.moves;
}
const busy = cluster.workers.reduce((s, w) => s + w.status().busySeconds, 0);
const batches = cluster.workers.reduce((s, w) => s + w.status().batches, 0);
await cluster.close();
const ideal = ((denoise / maxBatch) * stepMs + (calls / maxBatch) * rewardMs) / 1000 / workers;
const line = { workers, makespan_s: round(makespan), ideal_makespan_s: round(ideal), utilization: round(ideal / makespan) };
if (!o.json) {
  process.stderr.write(`${jobs.length} jobs, ${denoise} candidate steps, ${calls} reward calls, ${moves} latent moves; worker busy ${round(busy)} s of ${round(makespan * workers)} s; ${batches} batches, mean fill ${round(denoise / batches)}, mean batch ${round((busy / batches) * 1000)} ms\n`);
}
process.stdout.write(`${JSON.stringify(line)}\n`);

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
