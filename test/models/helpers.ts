import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxBackend } from '../../worker/backends/onnx.js';
import { InferenceHost } from '../../worker/onnx/host.js';

export const TINY = join(import.meta.dirname, '..', '..', 'models', 'tiny');

/** An onnx backend on the tiny bundle (cpu, logs collected instead of printed). */
export async function tinyBackend(opts: { maxBatch?: number; bundle?: string; guidance?: number; steps?: number; negativePrompt?: string; missingVariant?: 'refuse' | 'base'; scoreThread?: boolean } = {}): Promise<{ backend: OnnxBackend; logs: string[] }> {
  const logs: string[] = [];
  const host = await InferenceHost.start(
    {
      bundle: opts.bundle ?? TINY,
      provider: 'cpu',
      threads: 1,
      maxBatch: opts.maxBatch ?? 8,
      ...(opts.guidance !== undefined ? { guidance: opts.guidance } : {}),
      ...(opts.steps !== undefined ? { steps: opts.steps } : {}),
      ...(opts.negativePrompt !== undefined ? { negativePrompt: opts.negativePrompt } : {}),
      ...(opts.missingVariant ? { missingVariant: opts.missingVariant } : {}),
      ...(opts.scoreThread ? { scoreThread: true } : {}),
    },
    (l) => logs.push(l),
  );
  return { backend: new OnnxBackend(host), logs };
}

/** A private copy of the tiny bundle to break. */
export function copyTiny(): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'ttsnap-bundle-'));
  const dir = join(root, 'tiny');
  cpSync(TINY, dir, { recursive: true });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

export const PROMPT = 'a red circle above a blue square';

export function spec(i: number, text = PROMPT, seed = 1000 + i): { key: string; prompt: number; text: string; candidate: number; seed: number } {
  return { key: `p0/c${i}`, prompt: 0, text, candidate: i, seed };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
