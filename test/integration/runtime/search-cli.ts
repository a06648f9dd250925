import { execFile } from 'node:child_process';
import { mergeLedgers, type Ledger } from '../../../core/engine/ledger.js';
import type { MovementJson } from '../../../coordinator/result.js';
import { CLI } from '../../support/procs.js';
import type { EnginePick } from './engine-alone.js';

export interface SearchDoc {
  job: string;
  prompts: { prompt: number; winner: { candidate: number; seed: number; rewards: Record<string, number> }; explored: number[]; ledger: Ledger }[];
  ledger: Ledger;
  timeline: { makespan_s: number; worker_busy_s: Record<string, number> };
  movement: MovementJson;
}

/** Runs `ttsnap search ... --json` and parses its stdout. */
export function searchCli(args: string[], timeoutMs = 60_000): Promise<{ doc: SearchDoc; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'search', ...args, '--json'], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`search failed: ${err.message}\n${stderr}\n${stdout.slice(0, 2000)}`));
      resolve({ doc: JSON.parse(stdout) as SearchDoc, stderr });
    });
  });
}

/** What must agree between runs: per prompt the winner, the candidates explored and the ledger. */
export function picks(doc: SearchDoc): { prompt: number; winner: number; explored: number[]; ledger: Ledger }[] {
  return doc.prompts.map((p) => ({ prompt: p.prompt, winner: p.winner.candidate, explored: p.explored, ledger: p.ledger }));
}

export function enginePicks(e: readonly EnginePick[]): ReturnType<typeof picks> {
  return e.map((p) => ({ prompt: p.prompt, winner: p.winner, explored: p.explored, ledger: p.ledger }));
}

export function engineTotal(e: readonly EnginePick[]): Ledger {
  return mergeLedgers(e.map((p) => p.ledger));
}
