import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { connect } from 'nats';
import { parseInteger } from '../cli/options.js';
import { NatsResultStore } from '../core/bus/result-store.js';
import { freePort, startChild, stopChild } from './child-procs.js';
import { spread } from './spread.js';

/**
 * How long a job list takes when the result store keeps many results (`jobs list`, and ListJobs whenever the
 * coordinator's own jobs do not fill the list, as after a restart). A nats-server; one store fills the bucket with
 * --jobs small results (a summary and one page each); then a new store (as a restarted coordinator opens it)
 * lists 100: its first list, then --lists more, a list right after a delete, and one after another store's put;
 * and how much heap the store's index of the bucket takes per stored result (after a full collection).
 * Prints one JSON line with --json.
 */
const o = new Command('bench:result-list')
  .option('--jobs <n>', 'stored results', '3000')
  .option('--lists <n>', 'lists timed after the first', '10')
  .option('--json', 'print only the JSON line')
  .parse(process.argv)
  .opts<Record<string, string | boolean | undefined>>();
const jobs = parseInteger('--jobs', 1, 1_000_000)(String(o.jobs));
const lists = parseInteger('--lists', 1, 1000)(String(o.lists));
const say = (line: string): void => void (o.json ? undefined : process.stderr.write(`${line}\n`));

const PUT_CONCURRENCY = 32;
setFlagsFromString('--expose-gc');
/** The heap in use after a full collection (the index's memory is the difference it makes). */
const heapUsed = (): number => ((runInNewContext('gc') as () => void)(), (runInNewContext('gc') as () => void)(), process.memoryUsage().heapUsed);
const ms = (t0: number): number => Number((performance.now() - t0).toFixed(1));
const job = (i: number): string => `bench-${String(i).padStart(7, '0')}`;
const result = (i: number) => ({
  summary: { job: job(i), state: 'done', ledger: { cost: i } },
  prompts: [{ prompt: 0, winner: { candidate: 1, score: 0.5 } }],
  // a listing as a coordinator stores it (ListJobs' JobSummary), about 200 bytes of JSON
  listing: { job: job(i), state: 'done', prompts: 100, prompts_done: 100, candidates_per_prompt: 64, cost: i + 0.25, label: `bench:result-list ${i}`, pool: 'trace@1a2b3c4d', store_error: '', waiting: '' },
});

const dir = mkdtempSync(join(tmpdir(), 'ttsnap-result-list-'));
const children: ChildProcess[] = [];
try {
  const port = await freePort();
  children.push((await startChild('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'js')], /Server is ready/)).child);
  const servers = `nats://127.0.0.1:${port}`;
  const writer = await connect({ servers });
  const filler = await NatsResultStore.open(writer, 'bench');
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: PUT_CONCURRENCY }, async () => {
      while (next < jobs) {
        const i = next++;
        await filler.put(job(i), result(i));
        if ((i + 1) % Math.max(1, Math.floor(jobs / 10)) === 0) say(`  ${i + 1}/${jobs} results stored, ${(ms(t0) / 1000).toFixed(1)} s`);
      }
    }),
  );
  const fillS = ms(t0) / 1000;

  // a new connection and store: what a restarted coordinator has
  const reader = await connect({ servers });
  const heapBefore = heapUsed();
  const store = await NatsResultStore.open(reader, 'bench');
  let t = performance.now();
  const first = await store.list(100, new Set());
  const firstMs = ms(t);
  const indexBytes = Math.round((heapUsed() - heapBefore) / jobs);
  if (first.length !== Math.min(100, jobs)) throw new Error(`the first list gave ${first.length} jobs`);
  const times: number[] = [];
  for (let k = 0; k < lists; k++) {
    t = performance.now();
    await store.list(100, new Set());
    times.push(ms(t));
  }
  const newest = first[0]?.job as string;
  await store.delete(newest);
  t = performance.now();
  const afterDelete = await store.list(100, new Set());
  const afterDeleteMs = ms(t);
  if (afterDelete.some((l) => l.job === newest)) throw new Error('a deleted result is still listed');
  await filler.put(job(jobs), result(jobs));
  t = performance.now();
  const afterPut = await store.list(100, new Set());
  const afterPutMs = ms(t);
  if (afterPut[0]?.job !== job(jobs)) throw new Error(`another store's result is not listed first: ${afterPut[0]?.job}`);
  await Promise.all([writer.close(), reader.close()]);
  const figures = { stored_results: jobs, objects: 2 * jobs, fill_s: Number(fillS.toFixed(1)), first_list_ms: firstMs, list_ms: spread(times, 1), list_after_delete_ms: afterDeleteMs, list_after_other_put_ms: afterPutMs, index_bytes_per_result: indexBytes };
  say(`${jobs} stored results (${2 * jobs} objects): first list ${firstMs} ms, then ${figures.list_ms.median} ms (${figures.list_ms.min} to ${figures.list_ms.max}) over ${lists} lists`);
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  for (const c of children.reverse()) await stopChild(c);
  rmSync(dir, { recursive: true, force: true });
}
