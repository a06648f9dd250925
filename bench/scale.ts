import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { freePort, startChild, stopChild } from './child-procs.js';
import { spread, type Spread } from './spread.js';
import { parseInteger } from '../cli/options.js';
import { CoordinatorGrpcClient } from '../coordinator/client.js';
import { ResultCollector } from '../coordinator/result.js';
import { parseNumberIn } from '../core/number-range.js';
import { parseScheduleSpec } from '../core/engine/schedule.js';
import { syntheticTrace } from '../core/trace/synthetic.js';
import { writeNpy } from '../core/trace/npy.js';

/**
 * Scale benchmark: one coordinator process (real gRPC), a real nats-server, and worker processes each hosting
 * many simulated trace workers (bench/scale-workers.ts). One job of P prompts x N candidates on a synthetic
 * trace, then the same job at P/10 prompts, each on a fresh coordinator. Measures the coordinator's own CPU
 * (utime + stime from /proc, submit to done) per candidate, its peak RSS (VmHWM), NATS messages per candidate
 * (nats-server /varz), makespan and the ideal makespan (executed denoise steps in full batches spread evenly
 * over the workers). Prints one JSON line with --json: the large job's figures and
 * scaling_ratio = per-candidate coordinator CPU of the large job / that of the small one. With --runs N each job
 * runs N times (small and large alternated, each on a fresh cluster): every figure is then the median over the
 * runs, and `spread` gives min, median and max of each (the 100k job's CPU varies 10 to 20 % between runs).
 */
const o = new Command('bench:scale')
  .option('--prompts <n>', 'prompts of the large job (the small one has a tenth)', '10000')
  .option('--candidates <n>', 'candidates per prompt', '100')
  .option('--worker-processes <n>', 'worker processes', '4')
  .option('--workers-per-process <k>', 'simulated workers in each', '16')
  // 20 ms: the shortest step at which the whole run's CPU (coordinator, worker hosts, nats-server) fits in the ideal
  // makespan on this 2-core machine, so the simulated accelerators, not the processes, set the pace (at 10 and 15 ms
  // the hosts' CPU did: utilisation 0.60 and 0.75 at 100k). docs/coordinator-cpu.md has the measurements.
  .option('--step-ms <ms>', 'one denoise step of a batch', '20')
  .option('--max-batch <k>', 'candidates per batch', '8')
  .option('--score-grid-ms <ms>', "the workers' --score-grid-ms (ttsnap worker's default unless given)")
  .option('--busy-score-grid-ms <ms>', "the workers' --busy-score-grid-ms (ttsnap worker's default unless given)")
  .option('--schedule <spec>', 'prune points', '2:0.4,6:0.4,11:0.5')
  .option('--cpu-prof <dir>', "write the coordinator's V8 CPU profiles (node --cpu-prof) into this folder")
  .option('--fair-jobs <n>', 'also measure fair share: a huge job (a tenth of --prompts), then a small one behind it, then this many jobs at once from --fair-clients clients (0 = skip)', '0')
  .option('--fair-clients <k>', 'gRPC clients submitting the --fair-jobs jobs (without TLS the coordinator counts them as one client: its per-client limit is raised to fit)', '4')
  .option('--fair-only', 'measure only fair share (--fair-jobs), skipping the two scaling runs')
  .option('--runs <n>', 'runs of each job (small and large alternated): figures are medians, with their spread', '1')
  .option('--json', 'print only the JSON line')
  .parse(process.argv)
  .opts<Record<string, string | boolean | undefined>>();
const prompts = parseInteger('--prompts', 10, 10_000)(String(o.prompts));
const candidates = parseInteger('--candidates', 1, 1000)(String(o.candidates));
const procs = parseInteger('--worker-processes', 1, 64)(String(o.workerProcesses));
const perProc = parseInteger('--workers-per-process', 1, 256)(String(o.workersPerProcess));
const stepMs = parseNumberIn('--step-ms', String(o.stepMs), { min: 0, max: 60_000 });
const maxBatch = parseInteger('--max-batch', 1, 4096)(String(o.maxBatch));
/** A grid flag passed through to the worker hosts when given (ttsnap worker's default otherwise). */
const gridFlag = (flag: string, value: string | boolean | undefined): string[] => (value === undefined ? [] : [flag, String(parseInteger(flag, 0, 1000)(String(value)))]);
const scoreGrid = [...gridFlag('--score-grid-ms', o.scoreGridMs), ...gridFlag('--busy-score-grid-ms', o.busyScoreGridMs)];
const fairJobs = parseInteger('--fair-jobs', 0, 1000)(String(o.fairJobs));
const fairClients = parseInteger('--fair-clients', 1, 64)(String(o.fairClients));
const runs = parseInteger('--runs', 1, 20)(String(o.runs));
const workers = procs * perProc;
const CLI = join(import.meta.dirname, '..', 'cli', 'main.js');
const HOST = join(import.meta.dirname, 'scale-workers.js');
const TICK_S = 0.01; // /proc stat clock ticks (USER_HZ = 100 on Linux)
const profile = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', String(o.cpuProf)] : [];
const say = (line: string): void => void (o.json ? undefined : process.stderr.write(`${line}\n`));

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) * TICK_S;
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function natsInMsgs(monitor: number): Promise<number> {
  const v = (await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json()) as { in_msgs: number };
  return v.in_msgs;
}

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-scale-'));
const trace = syntheticTrace({ prompts, candidates, steps: 20, seed: 7 });
const base = join(dir, 'scale_base.npy');
const narf = join(dir, 'scale_narf.npy');
writeNpy(base, { shape: [prompts, candidates, 20], data: trace.base });
writeNpy(narf, { shape: [prompts, candidates, 20], data: trace.narf });
const schedule = parseScheduleSpec(String(o.schedule), 20);

interface Figures {
  candidates: number;
  workers: number;
  makespan_s: number;
  ideal_makespan_s: number;
  utilization: number;
  coordinator_cpu_us_per_candidate: number;
  coordinator_peak_rss_mb: number;
  nats_msgs_per_candidate: number;
}

/** A started cluster: nats-server, the coordinator and the worker hosts, every worker registered. */
interface Cluster {
  readonly address: string;
  readonly monitor: number;
  readonly coordinatorPid: number;
  readonly children: ChildProcess[];
}

async function startCluster(tag: string, children: ChildProcess[]): Promise<Cluster> {
  const [port, monitor] = [await freePort(), await freePort()];
  const nats = await startChild('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', join(dir, `js-${tag}`)], /Server is ready/);
  children.push(nats.child);
  const url = `nats://127.0.0.1:${port}`;
  const coord = await startChild(process.execPath, [...profile, CLI, 'coordinator', '--listen', '127.0.0.1:0', '--nats', url, '--worker-timeout-ms', '10000', '--score-timeout-ms', '60000', '--max-jobs-per-client', String(fairJobs + 10)], /"listen":"([^"]+:\d+)","msg":"coordinator listening"/);
  children.push(coord.child);
  const address = coord.match[1] as string;
  const hosts = await Promise.all(
    Array.from({ length: procs }, (_, i) =>
      startChild(process.execPath, [HOST, '--coordinator', address, '--nats', url, '--nats-prefix', 'ttsnap', '--base', base, '--narf', narf, '--id', `h${i}`, '--count', String(perProc), '--step-ms', String(stepMs), '--max-batch', String(maxBatch), ...scoreGrid], /workers ready/),
    ),
  );
  children.push(...hosts.map((h) => h.child));
  await new Promise((r) => setTimeout(r, 2000)); // every worker heartbeats in
  return { address, monitor, coordinatorPid: coord.child.pid as number, children };
}

async function run(jobPrompts: number): Promise<Figures> {
  const children: ChildProcess[] = [];
  try {
    const { address, monitor, coordinatorPid: pid } = await startCluster(String(jobPrompts), children);
    const client = new CoordinatorGrpcClient(address);
    const cpu0 = cpuSeconds(pid);
    const msgs0 = await natsInMsgs(monitor);
    const t0 = performance.now();
    const { job } = await client.submit({ prompts: Array.from({ length: jobPrompts }, (_, i) => i), candidates, schedule: [...schedule], seed: 1, label: 'bench:scale' });
    const collect = new ResultCollector();
    let done = 0;
    await client.watch(job, (e) => {
      collect.onEvent(e);
      if (e.event === 'prompt_done' && ++done % Math.max(1, Math.floor(jobPrompts / 10)) === 0) say(`  ${done}/${jobPrompts} prompts, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    });
    const makespan = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - cpu0;
    const msgs = (await natsInMsgs(monitor)) - msgs0;
    const rss = peakRssMb(pid);
    client.close();
    const denoise = Number(collect.summary?.ledger?.denoise_steps ?? 0);
    const ideal = (denoise / maxBatch) * (stepMs / 1000) / workers;
    const n = jobPrompts * candidates;
    if (collect.summary?.state !== 'done') throw new Error(`the job ended ${collect.summary?.state}: ${collect.summary?.error}`);
    if (!collect.complete) throw new Error(`only ${done} of ${jobPrompts} prompts came back`);
    return {
      candidates: n,
      workers,
      makespan_s: Number(makespan.toFixed(2)),
      ideal_makespan_s: Number(ideal.toFixed(2)),
      utilization: Number((ideal / makespan).toFixed(3)),
      coordinator_cpu_us_per_candidate: Number(((cpu / n) * 1e6).toFixed(2)),
      coordinator_peak_rss_mb: Number(rss.toFixed(1)),
      nats_msgs_per_candidate: Number((msgs / n).toFixed(2)),
    };
  } finally {
    for (const c of children.reverse()) await stopChild(c);
  }
}

type Figure = keyof Figures;
const FIGURES: readonly Figure[] = ['candidates', 'workers', 'makespan_s', 'ideal_makespan_s', 'utilization', 'coordinator_cpu_us_per_candidate', 'coordinator_peak_rss_mb', 'nats_msgs_per_candidate'];

type Spreads = Partial<Record<Figure | 'scaling_ratio', Spread>>;

/** Several runs of one job: each figure's median, and the spread of those that varied between runs. */
function summarize(list: readonly Figures[]): { figures: Figures; varied: Spreads } {
  const figures = { ...(list[0] as Figures) };
  const varied: Spreads = {};
  for (const f of FIGURES) {
    const s = spread(list.map((x) => x[f]), 3);
    figures[f] = s.median;
    if (s.min !== s.max) varied[f] = s;
  }
  return { figures, varied };
}

/** The figures, with their spread when there were several runs. */
const withSpread = (s: { figures: Figures; varied: Spreads }): Figures & { spread?: Spreads } => (runs > 1 ? { ...s.figures, spread: s.varied } : s.figures);

/** Submits a job and follows it; resolves with its makespan and when its first prompt finished (s after submit). */
async function timed(client: CoordinatorGrpcClient, jobPrompts: readonly number[], seed: number): Promise<{ makespan: number; firstPrompt: number }> {
  const t0 = performance.now();
  const { job } = await client.submit({ prompts: [...jobPrompts], candidates, schedule: [...schedule], seed, label: 'bench:scale fair share' });
  let firstPrompt = Number.NaN;
  const end = await client.watch(job, (e) => {
    if (e.event === 'prompt_done' && Number.isNaN(firstPrompt)) firstPrompt = (performance.now() - t0) / 1000;
  });
  if (end.done?.state !== 'done') throw new Error(`a fair-share job ended ${end.done?.state}: ${end.done?.error}`);
  return { makespan: (performance.now() - t0) / 1000, firstPrompt };
}

/**
 * Fair share: a small job alone; the same small job submitted behind a huge one (its share is then half the
 * workers, so about twice its time alone is fair); then `fairJobs` small jobs at once from `fairClients`
 * clients while the huge one still runs: each must make progress (time to its first finished prompt).
 */
async function fairShare(): Promise<Record<string, unknown>> {
  const children: ChildProcess[] = [];
  const smallPrompts = Array.from({ length: 10 }, (_, i) => i);
  const hugePrompts = Array.from({ length: Math.max(1, Math.round(prompts / 10)) }, (_, i) => i);
  try {
    const { address } = await startCluster('fair', children);
    const clients = Array.from({ length: fairClients }, () => new CoordinatorGrpcClient(address));
    const [first, second] = [clients[0] as CoordinatorGrpcClient, clients[1 % fairClients] as CoordinatorGrpcClient];
    const alone = await timed(first, smallPrompts, 2);
    say(`  small job alone: ${alone.makespan.toFixed(2)} s`);
    const huge = timed(first, hugePrompts, 1);
    await new Promise((r) => setTimeout(r, 2000)); // the huge job holds every worker
    const behind = await timed(second, smallPrompts, 3);
    say(`  the same behind a huge job: ${behind.makespan.toFixed(2)} s`);
    const many = await Promise.all(Array.from({ length: fairJobs }, (_, i) => timed(clients[i % fairClients] as CoordinatorGrpcClient, [i % prompts], 100 + i)));
    const hugeRun = await huge;
    for (const c of clients) c.close();
    return {
      small_job: { prompts: smallPrompts.length, alone_s: Number(alone.makespan.toFixed(2)), behind_huge_s: Number(behind.makespan.toFixed(2)), ratio: Number((behind.makespan / alone.makespan).toFixed(2)) },
      huge_job: { prompts: hugePrompts.length, makespan_s: Number(hugeRun.makespan.toFixed(2)) },
      concurrent: { jobs: fairJobs, clients: fairClients, first_prompt_s: spread(many.map((m) => m.firstPrompt)), makespan_s: spread(many.map((m) => m.makespan)) },
    };
  } finally {
    for (const c of children.reverse()) await stopChild(c);
  }
}

try {
  if (o.fairOnly) {
    if (fairJobs === 0) throw new Error('--fair-only needs --fair-jobs N (N >= 1)');
    process.stdout.write(`${JSON.stringify({ fair_share: await fairShare() })}\n`);
  } else {
    const smalls: Figures[] = [];
    const larges: Figures[] = [];
    for (let i = 1; i <= runs; i++) {
      const of = runs > 1 ? ` (run ${i} of ${runs})` : '';
      say(`small job: ${prompts / 10} prompts x ${candidates}${of}`);
      smalls.push(await run(Math.max(1, Math.round(prompts / 10))));
      say(JSON.stringify(smalls[smalls.length - 1]));
      say(`large job: ${prompts} prompts x ${candidates}${of}`);
      larges.push(await run(prompts));
      say(JSON.stringify(larges[larges.length - 1]));
    }
    const fair = fairJobs > 0 ? { fair_share: (say('fair share'), await fairShare()) } : {};
    // the ratio of each run's pair (run i large / run i small), then its median and spread like the rest
    const ratios = spread(larges.map((l, i) => l.coordinator_cpu_us_per_candidate / (smalls[i] as Figures).coordinator_cpu_us_per_candidate), 3);
    const large = summarize(larges);
    if (ratios.min !== ratios.max) large.varied.scaling_ratio = ratios;
    const { spread: spreads, ...figures } = withSpread(large);
    const several = runs > 1 ? { runs, spread: spreads } : {};
    const line = { ...figures, scaling_ratio: ratios.median, ...several, small: withSpread(summarize(smalls)), ...fair };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
