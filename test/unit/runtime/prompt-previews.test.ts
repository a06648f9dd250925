import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../../core/contract/backend-info.js';
import { decodePreview, encodePreview } from '../../../core/bus/nats.js';
import type { PreviewMessage } from '../../../core/bus/score-bus.js';
import { ValidationError } from '../../../core/errors.js';
import { PromMetricsSink } from '../../../core/metrics/sink.js';
import { ttsnapVersion } from '../../../core/version.js';
import { checkPreviewWorkers, PromptPreviews } from '../../../coordinator/prompt-previews.js';
import { backendPool } from '../../../coordinator/workers.js';

const ONNX: BackendInfo = { backend: 'onnx', steps: 20, maxBatch: 8, rewards: ['align'], cost: { denoise: 1, verify: 1 }, tracePrompts: 0, traceCandidates: 0, renders: true, model: 'tiny' };
const preview = (prompt: number, candidate: number, step: number, bytes = 10): PreviewMessage => ({
  job: 'j1', worker: 'w.1', prompt, candidate, step, png: new Uint8Array(bytes).fill(candidate), scores: { align: candidate / 10, quality: Number.NaN },
});

describe('previews on the bus', () => {
  it('travel as a JSON header line and the PNG bytes, under the worker\'s own subjects; scores exact, NaN included', () => {
    const p = preview(3, 7, 6);
    const subject = 'pfx.scores.w_2e1.j1.preview';
    const back = decodePreview(subject, encodePreview(p), 'pfx');
    expect(back).toEqual({ ...p, png: new Uint8Array(10).fill(7) });
    expect(decodePreview('pfx.scores.w_2e1.j1.failed', encodePreview(p), 'pfx')).toBeNull();
    expect(decodePreview(subject, new Uint8Array([1, 2, 3]), 'pfx')).toBeNull();
  });
});

/** The value ttsnap_preview_bytes exports now (undefined when it has no sample). */
async function exported(sink: PromMetricsSink): Promise<number | undefined> {
  return (await sink.registry.getSingleMetric('ttsnap_preview_bytes')?.get())?.values[0]?.value;
}

describe('the coordinator\'s previews of unfetched prompts', () => {
  it('keeps those of jobs that asked, hands a prompt\'s over once (candidates and steps ascending) and holds nothing after', () => {
    const store = new PromptPreviews();
    const wanted = (job: string): boolean => job === 'j1';
    for (const [c, s] of [[2, 6], [0, 2], [2, 2], [1, 2]] as const) store.add(preview(0, c, s), wanted);
    store.add(preview(1, 0, 2, 30), wanted);
    store.add({ ...preview(0, 5, 2), job: 'other' }, wanted);
    // a recomputed candidate sends again: the last one counts, once
    store.add(preview(0, 1, 2, 20), wanted);
    expect(store.bytes).toBe(10 + 10 + 10 + 20 + 30);
    const got = store.take('j1', 0);
    expect(got.map((p) => [p.candidate, p.step, p.png?.length])).toEqual([[0, 2, 10], [1, 2, 20], [2, 2, 10], [2, 6, 10]]);
    expect(got[0]?.scores).toEqual({ align: 0, quality: Number.NaN });
    expect(store.take('j1', 0)).toEqual([]);
    expect(store.bytes).toBe(30);
    store.drop('j1');
    expect(store.bytes).toBe(0);
    expect(store.take('j1', 1)).toEqual([]);
  });

  it('exports the bytes held as ttsnap_preview_bytes, exact after each add, replacement, fetch and drop', async () => {
    const sink = new PromMetricsSink('coordinator', { processMetrics: false });
    const store = new PromptPreviews(sink);
    const wanted = (job: string): boolean => job !== 'none';
    const seen: (number | undefined)[] = [await exported(sink)];
    const step = async (change: () => void): Promise<void> => {
      change();
      seen.push(await exported(sink));
    };
    await step(() => store.add(preview(0, 0, 2, 100), wanted));
    await step(() => store.add(preview(0, 1, 2, 40), wanted));
    await step(() => store.add(preview(1, 0, 2, 7), wanted));
    await step(() => store.add({ ...preview(0, 0, 2, 3), job: 'j2' }, wanted));
    // not wanted: nothing held, the gauge unchanged
    await step(() => store.add({ ...preview(0, 0, 2, 999), job: 'none' }, wanted));
    // the same candidate and step again (recomputed): 40 replaced by 25
    await step(() => store.add(preview(0, 1, 2, 25), wanted));
    await step(() => void store.take('j1', 0));
    // fetched already: nothing changes
    await step(() => void store.take('j1', 0));
    await step(() => store.drop('j1'));
    await step(() => store.drop('j1'));
    await step(() => store.drop('j2'));
    expect(seen).toEqual([0, 100, 140, 147, 150, 150, 135, 10, 10, 3, 3, 0]);
    expect(store.bytes).toBe(0);
  });

  it('refuses a job asking for previews on trace workers or where a worker is too old, naming the field and what to upgrade', () => {
    const pool = backendPool(ONNX);
    expect(() => checkPreviewWorkers(pool, [{ id: 'w1', info: { ...ONNX, previews: true } }])).not.toThrow();
    const old = (): void => checkPreviewWorkers(pool, [{ id: 'w1', info: { ...ONNX, previews: true } }, { id: 'w2', info: ONNX }]);
    expect(old).toThrow(ValidationError);
    expect(old).toThrow(`previews: worker w2 of pool ${pool.id} cannot send previews (an older ttsnap); allowed: upgrade it to this coordinator's ttsnap (${ttsnapVersion()}), or search without contact sheets`);
    const trace = backendPool({ ...ONNX, backend: 'trace', renders: false, model: 'paper' });
    expect(() => checkPreviewWorkers(trace, [])).toThrow(`previews: the trace workers of pool ${trace.id} have no pictures; allowed: a pool of model (onnx) workers, or search without contact sheets`);
  });
});
