import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseInteger } from '../cli/options.js';
import { CoordinatorGrpcClient } from '../coordinator/client.js';
import { writeSyntheticPair } from './trace-pair.js';
import { freePort, startChild, stopChild } from './child-procs.js';

/**
 * Large-result benchmark: a nats-server (default 1 MiB max_payload), a coordinator and trace worker processes;
 * `ttsnap search --coordinator ... --out DIR` of P prompts (synthetic trace) is killed with SIGKILL once a share
 * of its prompts are in results.jsonl, then run again with the same --out, which submits only the rest. The
 * killed client's job runs on; once it ends the coordinator is restarted (nothing in memory) and GetResult
 * pages through the whole stored result. Prints one JSON line with --json.
 */
const o = new Command('bench:big-result')
  .option('--prompts <n>', 'prompts of the job', '10000')
  .option('--candidates <n>', 'candidates per prompt', '24')
  .option('--top-k <k>', 'finalists reported per prompt (they make up most of a prompt\'s bytes)', '24')
  .option('--policy <name>', 'ttsnap | ttsp | bon', 'bon')
  .option('--workers <n>', 'trace worker processes', '2')
  .option('--kill-at <share>', 'share of the prompts written when the first client is killed', '0.3')
  .option('--json', 'print only the JSON line')
  .parse(process.argv)
  .opts<Record<string, string | boolean | undefined>>();
const prompts = parseInteger('--prompts', 10, 100_000)(String(o.prompts));
const candidates = parseInteger('--candidates', 1, 1000)(String(o.candidates));
const topK = parseInteger('--top-k', 0, candidates)(String(o.topK));
const workerCount = parseInteger('--workers', 1, 64)(String(o.workers));
const killAt = Number(o.killAt);
const CLI = join(import.meta.dirname, '..', 'cli', 'main.js');
const say = (line: string): void => void (o.json ? undefined : process.stderr.write(`${line}\n`));

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-bigres-'));
const out = join(dir, 'out');
const trace = writeSyntheticPair(dir, prompts, candidates, 7);
const lines = (): string[] => (existsSync(join(out, 'results.jsonl')) ? readFileSync(join(out, 'results.jsonl'), 'utf8').split('\n').filter(Boolean) : []);

function search(address: string): ChildProcess {
  const args = [CLI, 'search', '--coordinator', address, '--prompts', `0:${prompts}`, '--candidates', String(candidates), '--top-k', String(topK), '--policy', String(o.policy), '--seed', '1', '--out', out, '--quiet', '--json'];
  return spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}

const children: ChildProcess[] = [];
try {
  const [port, monitor] = [await freePort(), await freePort()];
  children.push((await startChild('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '-js', '-sd', join(dir, 'js')], /Server is ready/)).child);
  const url = `nats://127.0.0.1:${port}`;
  const startCoordinator = (listen: string) => startChild(process.execPath, [CLI, 'coordinator', '--listen', listen, '--nats', url, '--worker-timeout-ms', '10000'], /"listen":"(\S+?:\d+)".*"msg":"coordinator listening"/);
  let coord = await startCoordinator('127.0.0.1:0');
  const address = coord.match[1] as string;
  for (let w = 0; w < workerCount; w++) {
    const args = [CLI, 'worker', '--listen', '127.0.0.1:0', '--coordinator', address, '--nats', url, '--backend', 'trace', '--base', trace.base, '--narf', trace.narf, '--step-ms', '0', '--max-batch', '64', '--id', `w${w}`];
    children.push((await startChild(process.execPath, args, /"msg":"worker serving"/)).child);
  }
  await new Promise((r) => setTimeout(r, 2000));

  const t0 = performance.now();
  const first = search(address);
  while (lines().length < prompts * killAt) await new Promise((r) => setTimeout(r, 100));
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const atKill = lines().length;
  say(`client killed with ${atKill} lines written, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const again = search(address);
  const code = await new Promise<number | null>((r) => again.once('exit', r));
  const rerun_s = (performance.now() - t0) / 1000;
  const written = lines();
  const ids = written.map((l) => (JSON.parse(l) as { prompt: number }).prompt);
  say(`rerun exited ${code} with ${written.length} lines, ${rerun_s.toFixed(1)} s`);

  // the killed client's job (the first submitted) runs to its end; then nothing of it is left in memory
  let client = new CoordinatorGrpcClient(address);
  const job = (await client.list(10)).find((j) => j.prompts === prompts)?.job as string;
  const end = (await client.watch(job, () => {})).done;
  say(`the killed client's job ${job} ended ${end?.state}${end?.error ? `: ${end.error}` : ''}`);
  client.close();
  children.push(coord.child);
  await stopChild(coord.child);
  coord = await startCoordinator(address);
  children.push(coord.child);
  client = new CoordinatorGrpcClient(address);
  const t1 = performance.now();
  let pages = 0;
  let bytes = 0;
  let total = 0;
  let state = '';
  for (let offset = 0; pages === 0 || offset < total; pages++) {
    const page = await client.resultPage(job, offset, 1000);
    total = page.total_prompts;
    state = page.result?.state ?? '';
    offset += page.result?.prompts.length ?? 0;
    bytes += JSON.stringify(page.result?.prompts ?? []).length;
    if ((page.result?.prompts.length ?? 0) === 0) break;
  }
  const getresult_s = (performance.now() - t1) / 1000;
  client.close();
  const line = {
    prompts,
    candidates,
    top_k: topK,
    lines_at_kill: atKill,
    rerun_exit: code,
    lines: written.length,
    distinct_prompts: new Set(ids).size,
    to_complete_s: Number(rerun_s.toFixed(1)),
    first_job_state: end?.state,
    first_job_store_error: end?.result?.store_error ?? '',
    stored_result_state: state,
    stored_result_prompts: total,
    // JSON of the prompts as paged back (proto-shaped: what the store holds)
    stored_result_mib: Number((bytes / 1024 / 1024).toFixed(2)),
    getresult_pages: pages,
    getresult_s: Number(getresult_s.toFixed(2)),
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
} finally {
  for (const c of children.reverse()) await stopChild(c);
  rmSync(dir, { recursive: true, force: true });
}
