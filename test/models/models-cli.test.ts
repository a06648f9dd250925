import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { bundleCost } from '../../worker/onnx/bundle-cost.js';
import { copyTiny, TINY } from './helpers.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

describe('ttsnap models', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  it('cost --json prints the figures bundleCost computes', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'models', 'cost', TINY, '--json']);
    expect(JSON.parse(stdout)).toEqual(JSON.parse(JSON.stringify(bundleCost(TINY))));
  });

  it('check loads every model and summarises the bundle', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'models', 'check', TINY]);
    expect(stdout).toMatch(/^ok: tiny-shapes, layout sd, ddim 20 steps \(epsilon\), latent 4x8x8, image 32x32, provider cpu, mixed-step batches\n/);
  });

  it('check on a broken bundle: one line naming the file, exit code 2', async () => {
    const t = copyTiny();
    cleanup = t.cleanup;
    rmSync(join(t.dir, 'unet', 'model.onnx'));
    const err = await run(process.execPath, [CLI, 'models', 'check', t.dir]).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(2);
    expect(err?.stderr).toBe(`ttsnap: ${join(t.dir, 'unet', 'model.onnx')}: missing; expected by the bundle layout and tiny/ttsnap.json\n`);
  });
});
