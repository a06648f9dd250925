import { thumbnail } from '../../../core/image/thumbnail.js';
import { pngDataUri } from '../../../core/image/svg.js';
import type { PruneLineage } from './lineage.js';
import { finalStepOf, promptStages, shownReward, stageScores, type PreviewSource, type PromptDoc } from './stages.js';

/**
 * One stage of a prompt in report.html's data: compact keys, because a 10,000-prompt report carries 10,000.
 * Who was scored is not stored: the explored candidates at the first stage, then each stage's minus its pruned.
 */
export interface StageJson {
  /** step */
  readonly s: number;
  /** candidates dropped here */
  readonly p: readonly number[];
  /** 1 on the final step */
  readonly f?: 1;
  /** scores of the candidates scored here, in index order (null: not known here) */
  readonly sc?: readonly (number | null)[];
  /** index into images[] of the same candidates (null: no picture) */
  readonly im?: readonly (number | null)[];
}

/** One prompt in report.html's data. */
export interface PromptJson {
  readonly i: number;
  readonly t: string;
  /** candidates explored: 0..n-1, unless `ex` lists them */
  readonly n: number;
  readonly ex?: readonly number[];
  readonly w: number;
  readonly seed: number;
  readonly r: Readonly<Record<string, number>>;
  /** reward the stage scores are in */
  readonly rw: string;
  readonly cost: number;
  readonly steps: number;
  readonly st: readonly StageJson[];
}

export interface ReportDataJson {
  readonly prompts: readonly PromptJson[];
  /** PNG data URIs the stages point into */
  readonly images: readonly string[];
  /** prompts whose pictures were left out to keep the file small */
  readonly imagesOmitted: number;
}

/** Pictures embedded in report.html at most (bytes of base64): past it, a prompt's pictures stay in its contact sheet file. */
export const MAX_EMBEDDED_IMAGE_BYTES = 4_000_000;
/** Six significant digits: what the page shows (four) and a little more, in fewer bytes than a double's seventeen. */
const short = (x: number): number => Number(x.toPrecision(6));

/** Embedded pictures are shrunk into this box (px); smaller ones travel at their own size and the page enlarges them. */
const EMBED_BOX = 96;

/**
 * The data report.html renders: per prompt its winner, and per stage who was scored, their scores and pictures
 * (when the backend made them) and who was pruned.
 */
export async function reportData(prompts: readonly PromptDoc[], lineage: PruneLineage, previews: PreviewSource | null, maxImageBytes = MAX_EMBEDDED_IMAGE_BYTES): Promise<ReportDataJson> {
  const images: string[] = [];
  let bytes = 0;
  let omitted = 0;
  const out: PromptJson[] = [];
  for (const p of prompts) {
    const stages = promptStages(p, lineage.of(p.prompt), finalStepOf(p));
    const pictures = previews && bytes < maxImageBytes ? previews : null;
    if (previews && !pictures) omitted++;
    const st: StageJson[] = [];
    for (const s of stages) {
      const scores = stageScores(p, s, previews);
      const im: (number | null)[] = [];
      for (const c of s.alive) {
        const img = pictures?.preview(p.prompt, c, s.step)?.image;
        if (!img) {
          im.push(null);
          continue;
        }
        const uri = pngDataUri((await thumbnail(img, EMBED_BOX, false)).png);
        bytes += uri.length;
        im.push(images.push(uri) - 1);
      }
      st.push({
        s: s.step,
        p: s.pruned,
        ...(s.final ? { f: 1 as const } : {}),
        ...(scores.size ? { sc: s.alive.map((c) => { const v = scores.get(c); return v === undefined ? null : short(v); }) } : {}),
        ...(im.some((x) => x !== null) ? { im } : {}),
      });
    }
    const explored = stages[0]?.alive ?? [];
    const contiguous = explored.every((c, k) => c === k);
    out.push({
      i: p.prompt,
      t: p.text ?? '',
      n: explored.length,
      ...(contiguous ? {} : { ex: explored }),
      w: p.winner.candidate,
      seed: p.winner.seed,
      r: Object.fromEntries(Object.entries(p.winner.rewards).map(([k, v]) => [k, short(v)])),
      rw: shownReward(p),
      cost: short(p.ledger.cost),
      steps: p.ledger.denoise_steps,
      st,
    });
  }
  return { prompts: out, images, imagesOmitted: omitted };
}
