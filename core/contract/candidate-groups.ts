import type { PromptCandidates__Output } from '../generated/ttsnap/v1/PromptCandidates.js';
import type { SamplingSettings__Output } from '../generated/ttsnap/v1/SamplingSettings.js';
import type { TakePrompt__Output } from '../generated/ttsnap/v1/TakePrompt.js';
import type { CandidateRef, TakeSpec } from './candidates.js';

/**
 * The grouped wire form of candidate lists (worker.proto: PromptCandidates, TakePrompt). A fill places one
 * prompt's candidates together, so a run of refs of one prompt becomes one group with a packed list of indices:
 * a message per candidate cost the coordinator most of its encoding time and garbage, and a Take repeated the
 * prompt's text for every candidate. Runs keep their order; a list that alternates prompts still round-trips.
 */
export function promptGroups(refs: readonly CandidateRef[]): PromptCandidates__Output[] {
  const out: { prompt: number; candidates: number[] }[] = [];
  let run: { prompt: number; candidates: number[] } | undefined;
  for (const r of refs) {
    if (run?.prompt !== r.prompt) {
      run = { prompt: r.prompt, candidates: [] };
      out.push(run);
    }
    run.candidates.push(r.candidate);
  }
  return out;
}

/** The refs of groups, in order (promptGroups' inverse). */
export function groupRefs(groups: readonly PromptCandidates__Output[]): CandidateRef[] {
  return groups.flatMap((g) => g.candidates.map((candidate) => ({ prompt: g.prompt, candidate })));
}

/** The specs of take prompts, in order (takePrompts' inverse). */
export function promptSpecs(prompts: readonly TakePrompt__Output[]): TakeSpec[] {
  const out: TakeSpec[] = [];
  for (const p of prompts) {
    const sampling = p.sampling ? { sampling: p.sampling } : {};
    p.candidates.forEach((candidate, j) => out.push({ prompt: p.prompt, candidate, seed: p.seeds[j] as number, text: p.text, ...sampling }));
  }
  return out;
}

/** Take specs grouped into runs of one prompt with the same text and sampling settings (the text goes once). */
export function takePrompts(specs: readonly TakeSpec[]): TakePrompt__Output[] {
  const out: { prompt: number; text: string; sampling: SamplingSettings__Output | null; candidates: number[]; seeds: number[] }[] = [];
  let run: (typeof out)[number] | undefined;
  for (const s of specs) {
    const sampling = s.sampling ?? null;
    if (!run || run.prompt !== s.prompt || run.text !== s.text || !sameSampling(run.sampling, sampling)) {
      run = { prompt: s.prompt, text: s.text, sampling, candidates: [], seeds: [] };
      out.push(run);
    }
    run.candidates.push(s.candidate);
    run.seeds.push(s.seed);
  }
  return out;
}

function sameSampling(a: SamplingSettings__Output | null, b: SamplingSettings__Output | null): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.guidance === b.guidance && a.steps === b.steps && a.negative_prompt === b.negative_prompt && a.width === b.width && a.height === b.height;
}
