import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (run `npx tsc -p tsconfig.json` first). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
/** The paper's traces, read in place (never copied into the repository). */
export const TRACES = fileURLToPath(new URL('../../../shared/traces', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/cli/main.js ...args` and collects its output. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
