import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbedded, type EmbeddedCluster } from '../../process/embedded.js';
import { resultJson, type SearchReport } from '../../coordinator/result.js';
import { decodePng } from '../../core/image/png.js';
import { SearchArtifacts } from '../../cli/render/search-artifacts.js';
import { PruneLineage } from '../../cli/render/search-report/lineage.js';
import { writeSearchOutputs } from '../../cli/render/search-report/write-outputs.js';
import { PROMPT, TINY } from './helpers.js';

describe('a full search on the tiny bundle (embedded coordinator, onnx backend)', () => {
  let cluster: EmbeddedCluster | undefined;
  let art: SearchArtifacts | undefined;
  const dirs: string[] = [];
  afterEach(async () => {
    await cluster?.close();
    art?.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function search(seed: number, workers = 1, maxBatch = 8): Promise<{ report: SearchReport; files: string[]; dir: string }> {
    art = new SearchArtifacts();
    cluster = await startEmbedded({ backend: 'onnx', workers, backendOptions: { model: TINY, provider: 'cpu', threads: '1', maxBatch: String(maxBatch) }, previews: art });
    const job = cluster.coordinator.submit({ texts: [PROMPT], candidates: 10, seed, schedule: [{ step: 2, alpha: 0.4 }, { step: 6, alpha: 0.5 }] });
    const lineage = new PruneLineage();
    cluster.coordinator.watch(job.id, (e) => lineage.onEvent(e));
    await cluster.coordinator.whenEnded(job.id);
    const report = resultJson(cluster.coordinator.result(job.id), 0);
    const dir = mkdtempSync(join(tmpdir(), 'ttsnap-out-'));
    dirs.push(dir);
    const files = await writeSearchOutputs(dir, { report, lineage, previews: art, cost: cluster.coordinator.backend?.cost ?? null });
    await cluster.close();
    cluster = undefined;
    art.close();
    art = undefined;
    return { report, files, dir };
  }

  it('writes report.json, the winner and a contact sheet; the same search twice picks the same winner', { timeout: 90_000 }, async () => {
    const first = await search(7);
    expect(first.files.map((f) => f.slice(first.dir.length + 1))).toEqual([
      'report.json', 'winner.png', 'winner_large.png', 'contact_sheet.svg', 'contact_sheet.png', 'budget.svg', 'budget.png', 'report.html',
    ]);
    const p = first.report.prompts[0]!;
    expect(p.explored).toHaveLength(10);
    // 10 -> keep round(4) = 4 at step 2 -> keep 2 at step 6 -> 2 finalists
    const ledger = (first.report.prompts[0] as unknown as { ledger: { denoise_steps: number } }).ledger;
    expect(ledger.denoise_steps).toBe(10 * 3 + 4 * 4 + 2 * 13);
    const winner = decodePng(readFileSync(join(first.dir, 'winner.png')));
    expect([winner.width, winner.height]).toEqual([32, 32]);
    const large = decodePng(readFileSync(join(first.dir, 'winner_large.png')));
    expect([large.width, large.height]).toEqual([512, 512]);
    // the large winner is the native one with every pixel a 16x16 block
    expect(Array.from(large.data.subarray((17 * 512 + 17) * 4, (17 * 512 + 17) * 4 + 4))).toEqual(Array.from(winner.data.subarray((1 * 32 + 1) * 4, (1 * 32 + 1) * 4 + 4)));
    const sheet = decodePng(readFileSync(join(first.dir, 'contact_sheet.png')));
    // 10 candidate columns and 3 rows (steps 2, 6, 19) of 96 px thumbnails, plus labels
    expect(sheet.width).toBeGreaterThan(10 * 96);
    expect(sheet.height).toBeGreaterThan(3 * 96);
    const svg = readFileSync(join(first.dir, 'contact_sheet.svg'), 'utf8');
    expect(svg).toContain(PROMPT);
    expect(svg.match(/>pruned</g)).toHaveLength(10 - 4 + 4 - 2);
    expect(svg.match(/>winner</g)).toHaveLength(1);
    expect(JSON.parse(readFileSync(join(first.dir, 'report.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(first.report)));
    const second = await search(7);
    expect(second.report.prompts[0]?.winner).toEqual(p.winner);
    expect(readFileSync(join(second.dir, 'winner.png')).equals(readFileSync(join(first.dir, 'winner.png')))).toBe(true);
    expect(existsSync(join(second.dir, 'contact_sheet.png'))).toBe(true);
  });

  it('placement and batching do not change the result: 2 workers with batches of 3 pick what 1 worker with batches of 8 picks', { timeout: 120_000 }, async () => {
    const one = await search(11, 1, 8);
    const two = await search(11, 2, 3);
    type P = { winner: { candidate: number; seed: number; rewards: Record<string, number> }; ledger: unknown };
    const a = one.report.prompts[0] as unknown as P;
    const b = two.report.prompts[0] as unknown as P;
    expect(b.winner.candidate).toBe(a.winner.candidate);
    expect(b.winner.seed).toBe(a.winner.seed);
    expect(b.winner.rewards.align).toBeCloseTo(a.winner.rewards.align as number, 5);
    expect(b.ledger).toEqual(a.ledger);
  });
});
