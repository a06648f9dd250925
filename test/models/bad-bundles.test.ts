import { readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BadFileError } from '../../core/errors.js';
import { copyTiny, tinyBackend } from './helpers.js';

describe('bad bundles: one clear error naming the file and what was expected', () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  async function loadError(bundle: string): Promise<BadFileError> {
    const err = await tinyBackend({ bundle }).then(
      async ({ backend }) => {
        await backend.close();
        return null;
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BadFileError);
    return err as BadFileError;
  }

  it('a missing file', async () => {
    const t = copyTiny();
    cleanup = t.cleanup;
    rmSync(join(t.dir, 'vae_decoder', 'model.onnx'));
    const err = await loadError(t.dir);
    expect(err.file).toBe(join(t.dir, 'vae_decoder', 'model.onnx'));
    expect(err.message).toBe(`${join(t.dir, 'vae_decoder', 'model.onnx')}: missing; expected by the bundle layout and tiny/ttsnap.json`);
  });

  it('an ONNX file with the wrong input names', async () => {
    const t = copyTiny();
    cleanup = t.cleanup;
    copyFileSync(join(t.dir, 'text_encoder', 'model.onnx'), join(t.dir, 'unet', 'model.onnx'));
    const err = await loadError(t.dir);
    expect(err.message).toBe(`${join(t.dir, 'unet', 'model.onnx')}: the UNet has outputs [last_hidden_state], expected [out_sample]`);
  });

  it('a corrupt file', async () => {
    const t = copyTiny();
    cleanup = t.cleanup;
    const f = join(t.dir, 'rewards', 'align', 'model.onnx');
    writeFileSync(f, readFileSync(f).subarray(0, 1000));
    const err = await loadError(t.dir);
    expect(err.file).toBe(f);
    expect(err.message).toMatch(/: cannot load it as ONNX \(.+\); expected the reward model 'align'$/);
  });

  it('a manifest that does not match the models', async () => {
    const t = copyTiny();
    cleanup = t.cleanup;
    const mf = join(t.dir, 'ttsnap.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as { latent: { channels: number } };
    m.latent.channels = 8;
    writeFileSync(mf, JSON.stringify(m));
    const err = await loadError(t.dir);
    expect(err.file).toBe(join(t.dir, 'unet', 'model.onnx'));
    // the batch dim's name is the exporter's choice
    expect(err.message).toMatch(/: input sample has shape \[\w+, 4, 8, 8\], expected \[batch, 8, 8, 8\] from ttsnap.json latent.channels\/height\/width$/);
  });

  it('a manifest with a bad field', async () => {
    const t = copyTiny();
    cleanup = t.cleanup;
    const mf = join(t.dir, 'ttsnap.json');
    const m = JSON.parse(readFileSync(mf, 'utf8')) as { default_rewards: string[] };
    m.default_rewards = ['beauty'];
    writeFileSync(mf, JSON.stringify(m));
    const err = await loadError(t.dir);
    expect(err.message).toBe(`${mf}: default_rewards names 'beauty', expected one of: align, quality`);
  });
});
