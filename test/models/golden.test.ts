import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initialNoise } from '../../core/diffusion/noise.js';
import { bundleFiles, bundleSessions, loadBundle, type Bundle } from '../../worker/onnx/bundle.js';
import { preprocessImages } from '../../worker/onnx/preprocess.js';
import type { AdaptedSession, Output } from '../../worker/onnx/session.js';
import { loadTokenizer } from '../../worker/onnx/tokenizer.js';
import { PROMPT, spec, TINY, tinyBackend } from './helpers.js';

/**
 * Golden values of every component of the tiny bundle on fixed inputs, and of a full pipeline run. They belong
 * to the bundle's weights: golden.json records each file's sha256, and after the recipe rebuilds the bundle
 * they are regenerated with `TTSNAP_UPDATE_GOLDEN=1 npx vitest run test/models/golden.test.ts`.
 */
const GOLDEN = join(import.meta.dirname, 'golden.json');
const UPDATE = process.env.TTSNAP_UPDATE_GOLDEN === '1';

interface Golden {
  files: Record<string, string>;
  values: Record<string, number[]>;
}

/** 8 evenly spaced elements and the sum: enough to pin a tensor without storing it. */
function pin(data: Float32Array): number[] {
  const out: number[] = [];
  for (let k = 0; k < 8; k++) out.push(data[Math.floor((k * (data.length - 1)) / 7)] as number);
  out.push(data.reduce((a, b) => a + b, 0));
  return out;
}

const first = (o: Output[]): Output => o[0] as Output;

describe('golden values of the tiny bundle', () => {
  let b: Bundle;
  const now: Golden = { files: {}, values: {} };
  beforeAll(async () => {
    b = await loadBundle(TINY, { provider: 'cpu', threads: 1, log: () => undefined });
    const files = bundleFiles(TINY, b.manifest).map((f) => (statSync(f).isDirectory() ? join(f, 'tokenizer.json') : f));
    for (const f of [join(TINY, 'ttsnap.json'), ...files]) now.files[relative(TINY, f)] = createHash('sha256').update(readFileSync(f)).digest('hex');
  });
  afterAll(async () => {
    for (const s of bundleSessions(b)) await s.close();
  });

  it('every component: output shapes, and values on fixed inputs', async () => {
    const ids = loadTokenizer(join(TINY, 'tokenizer'), 16).encode(PROMPT);
    now.values.tokenizer = Array.from(ids);
    const L = ids.length;
    const text = first(await (b.text.sessions[0] as AdaptedSession).run({ input_ids: { kind: 'ids', data: ids, dims: [1, L] } }, ['last_hidden_state']));
    expect(text.dims).toEqual([1, 16, 64]);
    now.values.text_encoder = pin(text.data);
    const unet = first(
      await b.denoiser.session.run(
        {
          sample: { kind: 'float', data: initialNoise(1, 256), dims: [1, 4, 8, 8] },
          timestep: { kind: 'timestep', values: Float64Array.of(951) },
          encoder_hidden_states: { kind: 'float', data: text.data, dims: [1, 16, 64] },
        },
        ['out_sample'],
      ),
    );
    expect(unet.dims).toEqual([1, 4, 8, 8]);
    now.values.unet = pin(unet.data);
    const img = first(await b.decoder.run({ latent_sample: { kind: 'float', data: initialNoise(2, 256), dims: [1, 4, 8, 8] } }, ['sample']));
    expect(img.dims).toEqual([1, 3, 32, 32]);
    now.values.vae_decoder = pin(img.data);
    for (const [name, r] of b.rewards) {
      const m = b.manifest.rewards[name];
      if (!m) continue;
      const feeds = {
        [m.inputs.image]: { kind: 'float' as const, data: preprocessImages(img.data, 1, 32, 32, m.preprocess), dims: [1, 3, 32, 32] },
        ...(m.inputs.text ? { [m.inputs.text]: { kind: 'ids' as const, data: ids, dims: [1, L] } } : {}),
      };
      for (const [label, s] of [['base', r.base], ...[...r.byStep].map(([k, v]) => [`step_${k}`, v] as const)] as const) {
        const out = first(await s.run(feeds, [m.output]));
        expect(out.dims).toEqual([1]);
        now.values[`rewards.${name}.${label}`] = Array.from(out.data);
      }
    }
  });

  it('a full pipeline run: final align scores of four seeds', { timeout: 60_000 }, async () => {
    const { backend } = await tinyBackend();
    try {
      const specs = [0, 1, 2, 3].map((i) => spec(i));
      await backend.create(specs);
      for (let s = 0; s < 20; s++) await backend.advance(specs.map((c) => ({ key: c.key, toStep: s })));
      const [align] = await backend.score(specs.map((c) => c.key), [{ name: 'align', noiseAware: false }]);
      now.values.pipeline_final_align = Array.from(align ?? []);
    } finally {
      await backend.close();
    }
  });

  it('matches golden.json (the same bundle files, the same values to 1e-4)', () => {
    if (UPDATE) writeFileSync(GOLDEN, `${JSON.stringify(now, null, 1)}\n`);
    const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Golden;
    expect(now.files, 'the tiny bundle changed: regenerate with TTSNAP_UPDATE_GOLDEN=1 npx vitest run test/models/golden.test.ts').toEqual(golden.files);
    expect(Object.keys(now.values).sort()).toEqual(Object.keys(golden.values).sort());
    for (const [k, want] of Object.entries(golden.values)) {
      const got = now.values[k] ?? [];
      expect(got.length, k).toBe(want.length);
      want.forEach((w, i) => expect(Math.abs((got[i] as number) - w), `${k}[${i}]: ${got[i]} vs ${w}`).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(w))));
    }
  });
});
