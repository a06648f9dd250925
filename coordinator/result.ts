import type { Ledger, StageLedger } from '../core/engine/ledger.js';
import type { JobResult } from '../core/generated/ttsnap/v1/JobResult.js';
import type { JobResult__Output } from '../core/generated/ttsnap/v1/JobResult.js';
import type { Ledger as ProtoLedger, Ledger__Output } from '../core/generated/ttsnap/v1/Ledger.js';
import type { PromptResult, PromptResult__Output } from '../core/generated/ttsnap/v1/PromptResult.js';
import type { Winner } from '../core/generated/ttsnap/v1/Winner.js';
import type { PromptRun } from './prompt-run.js';
import type { JobSpec } from './job-spec.js';
import type { BackendInfo } from '../core/contract/backend-info.js';
import type { Provenance } from '../core/generated/ttsnap/v1/Provenance.js';
import { numbers } from '../core/numbers.js';

/** The result of one finished prompt (proto-shaped, snake_case). */
export function promptResult(run: PromptRun, topK: number, image?: Uint8Array): PromptResult {
  const ranking = run.search.finalRanking();
  const winnerOf = (i: number): Winner => ({ candidate: i, seed: run.seedOf(i), rewards: run.finalRewards(i) });
  const winner = winnerOf(ranking[0] as number);
  if (image) winner.image = image;
  return {
    prompt: run.prompt,
    text: run.text,
    winner,
    top_k: numbers(ranking.subarray(0, topK)).map(winnerOf),
    explored: numbers(run.search.explored),
    ledger: ledgerToProto(run.book.summary()),
    position: run.position,
  };
}

/**
 * Candidates moved between workers and what lost workers cost: `recomputed_steps` charged beyond the plan, and
 * `unscored_steps`, at most what lost workers ran for candidates whose scores never came (no ledger has them).
 */
export interface MovementJson {
  readonly moves: number;
  readonly bytes: number;
  readonly recomputed_steps: number;
  readonly workers_lost: number;
  readonly unscored_steps: number;
}

/** What a job's result is made from (coordinator/job.ts's Job has these; named here so result.ts needs no Job). */
export interface JobRecord {
  readonly id: string;
  readonly state: string;
  readonly createdAt: number;
  readonly endedAt: number;
  readonly error: string;
  /** why the result could not be stored durably ('' when stored, or no store) */
  readonly storeError: string;
  /** what produced the result: the request as compiled, the workers' model and its fingerprint, the ttsnap version */
  readonly provenance: Provenance | null;
  /** the finished prompts' results, in request order */
  readonly finished: { results(): PromptResult[] };
  readonly busy: ReadonlyMap<string, number>;
  readonly movement: MovementJson;
  ledger(): Ledger;
  /** seconds it waited for a worker, up to `now` */
  waitedSeconds(now: number): number;
}

/** The whole job's result as the GetResult RPC returns it. */
export function jobResult(job: JobRecord, now: number): JobResult {
  const end = job.endedAt || now;
  return {
    job: job.id,
    state: job.state,
    prompts: job.finished.results(),
    ledger: ledgerToProto(job.ledger()),
    timeline: {
      makespan_s: (end - job.createdAt) / 1000,
      worker_busy_s: Object.fromEntries([...job.busy.entries()].sort(([a], [b]) => a.localeCompare(b))),
      waited_s: job.waitedSeconds(end),
    },
    movement: { ...job.movement },
    error: job.error,
    store_error: job.storeError,
    ...(job.provenance ? { provenance: job.provenance } : {}),
  };
}

/** A job's provenance: its request as compiled (N, schedule, seed, policy, rewards...), the backend that ran it. */
export function provenanceOf(spec: JobSpec, info: BackendInfo, version: string): Provenance {
  return {
    version,
    backend: info.backend,
    model: info.model,
    bundle_fingerprint: info.fingerprint ?? '',
    provider: info.provider ?? '',
    candidates_per_prompt: spec.n,
    schedule: spec.schedule.map((p) => ({ step: p.step, alpha: p.alpha })),
    seed: spec.seed,
    policy: spec.policy.name,
    rewards: [...spec.rewards],
    accounting: spec.accounting,
    cost: { denoise: spec.cost.denoise, verify: spec.cost.verify },
    ...(spec.sampling ? { sampling: spec.sampling } : {}),
  };
}

/** The job's result without its prompts: what the done event carries, whatever the job's size. */
export function jobSummary(job: JobRecord, now: number): JobResult {
  // a spread copies fields, not a class's methods: those the result calls are passed on by hand
  return jobResult({ ...job, finished: { results: () => [] }, ledger: () => job.ledger(), waitedSeconds: (t) => job.waitedSeconds(t) }, now);
}

/** Prompts a GetResult page holds: `limit` (0 = 1000), capped at 10,000. */
export function pageLimit(limit: number): number {
  return Math.min(limit || 1000, 10_000);
}

/** Bytes of prompts one GetResult answer carries at most: well inside the 8 MiB message cap, whatever the prompts' size. */
export const PAGE_BYTES = 4 * 1024 * 1024;

/** A prompt's size on the wire, near enough (its JSON without images, plus the images' bytes). */
function wireBytes(p: unknown): number {
  let bytes = 0;
  const json = JSON.stringify(p, (k, v: unknown) => {
    if (k === 'image' && v instanceof Uint8Array) {
      bytes += v.length;
      return undefined;
    }
    return v;
  });
  return bytes + (json?.length ?? 0);
}

/** The first prompts of `page` that fit PAGE_BYTES (at least one): a page never outgrows a gRPC message. */
export function fitPage<P>(page: readonly P[]): P[] {
  const out: P[] = [];
  let bytes = 0;
  for (const p of page) {
    const b = wireBytes(p);
    if (out.length > 0 && bytes + b > PAGE_BYTES) break;
    out.push(p);
    bytes += b;
  }
  return out;
}

/** One page of the result's prompts (GetResult), with the total to page through. */
export function resultPage<R extends { readonly prompts?: readonly unknown[] | null }>(result: R, offset: number, limit: number): { result: R; total_prompts: number } {
  const prompts = result.prompts ?? [];
  return { result: { ...result, prompts: fitPage(prompts.slice(offset, offset + pageLimit(limit))) }, total_prompts: prompts.length };
}

/**
 * Gathers a job's result from its event stream: prompt_done events in any order, then the done event's
 * summary; `result()` lists the prompts in request order. A watcher thus needs no call after the job ends.
 */
export class ResultCollector {
  private readonly prompts = new Map<number, PromptResult>();
  summary: JobResult | null = null;
  /** prompts the done event says the result has */
  expected = 0;

  /** Feeds one event; returns the prompt result it carried, if it was a new one. */
  onEvent(e: { readonly prompt_done?: PromptResult | PromptResult__Output | null; readonly done?: { readonly result?: JobResult | null; readonly prompts?: number } | null }): PromptResult | null {
    const p = e.prompt_done;
    if (p) {
      const pos = Number(p.position ?? 0);
      if (this.prompts.has(pos)) return null;
      this.prompts.set(pos, p);
      return p;
    }
    if (e.done) {
      this.summary = e.done.result ?? null;
      this.expected = Number(e.done.prompts ?? 0);
    }
    return null;
  }

  /** true when every prompt of the summary arrived as an event */
  get complete(): boolean {
    return this.summary !== null && this.prompts.size >= this.expected;
  }

  result(): JobResult {
    const prompts = [...this.prompts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
    return { ...this.summary, prompts };
  }
}

/** The engine's ledger as a proto message. */
export function ledgerToProto(l: Ledger): ProtoLedger {
  return { ...l, reward_calls: { ...l.reward_calls }, stages: l.stages.map((s) => ({ ...s, reward_calls: { ...s.reward_calls } })) };
}

/** A prompt's overrides in the report: only what was set. */
export type PromptSettingsJson = Readonly<Record<string, number | string>>;

function settingsJson(p: PromptResult['settings'] | null | undefined): PromptSettingsJson | null {
  if (!p) return null;
  const out: Record<string, number | string> = {};
  if (p.has_seed) out.seed = Number(p.seed);
  if (Number(p.candidates ?? 0) > 0) out.candidates = Number(p.candidates);
  if (Number(p.budget ?? 0) > 0) out.budget = Number(p.budget);
  for (const [k, v] of Object.entries(p.sampling ?? {})) if (typeof v === 'number' || typeof v === 'string') if (v) out[k] = v;
  return Object.keys(out).length > 0 ? out : null;
}

/** A winner or finalist in the search report. */
export interface WinnerJson {
  readonly candidate: number;
  readonly seed: number;
  readonly rewards: Readonly<Record<string, number>>;
}

/** The `search --json` report (and report.json): plain numbers, snake_case, so anyone can recompute a pick. */
export interface SearchReport {
  readonly job: string;
  readonly prompts: readonly {
    readonly prompt: number;
    readonly text?: string;
    readonly winner: WinnerJson;
    readonly top_k?: readonly WinnerJson[];
    readonly explored: readonly number[];
    readonly ledger: Ledger;
    /** the prompt's overrides from a JSONL prompts file, as applied */
    readonly settings?: PromptSettingsJson;
  }[];
  readonly ledger: Ledger;
  /** waited_s: of the makespan, the seconds the job waited for a worker */
  readonly timeline: { readonly makespan_s: number; readonly worker_busy_s: Readonly<Record<string, number>>; readonly waited_s: number };
  readonly movement: MovementJson;
  /** what produced the result (absent from results of coordinators before it was recorded) */
  readonly provenance?: ProvenanceJson;
}

/** Provenance as plain JSON: the request as compiled, the model and its fingerprint, the provider, the ttsnap version. */
export interface ProvenanceJson {
  readonly version: string;
  readonly backend: string;
  readonly model: string;
  readonly bundle_fingerprint: string;
  readonly provider: string;
  readonly candidates_per_prompt: number;
  readonly schedule: readonly { readonly step: number; readonly alpha: number }[];
  readonly seed: number;
  readonly policy: string;
  readonly rewards: readonly string[];
  readonly accounting: string;
  readonly cost: { readonly denoise: number; readonly verify: number };
  readonly sampling?: PromptSettingsJson;
}

function provenanceJson(p: AnyResult['provenance']): ProvenanceJson | null {
  if (!p) return null;
  const sampling = settingsJson({ sampling: p.sampling ?? null });
  return {
    version: p.version ?? '',
    backend: p.backend ?? '',
    model: p.model ?? '',
    bundle_fingerprint: p.bundle_fingerprint ?? '',
    provider: p.provider ?? '',
    candidates_per_prompt: Number(p.candidates_per_prompt ?? 0),
    schedule: (p.schedule ?? []).map((s) => ({ step: Number(s.step), alpha: Number(s.alpha) })),
    seed: Number(p.seed ?? 0),
    policy: p.policy ?? '',
    rewards: [...(p.rewards ?? [])],
    accounting: p.accounting ?? '',
    cost: { denoise: Number(p.cost?.denoise ?? 0), verify: Number(p.cost?.verify ?? 0) },
    ...(sampling ? { sampling } : {}),
  };
}

/** A proto Ledger back in the engine's shape and key order (so both modes print identical JSON). */
export function ledgerFromProto(l: Ledger__Output | ProtoLedger | null | undefined): Ledger {
  const calls = (r: Readonly<Record<string, number | string>> | undefined): Record<string, number> =>
    Object.fromEntries(Object.entries(r ?? {}).map(([k, v]) => [k, Number(v)] as const).sort(([a], [b]) => a.localeCompare(b)));
  const stages: StageLedger[] = (l?.stages ?? []).map((s) => ({ step: Number(s.step), denoise_steps: Number(s.denoise_steps), reward_calls: calls(s.reward_calls), cost: Number(s.cost) }));
  return { candidates: Number(l?.candidates ?? 0), denoise_steps: Number(l?.denoise_steps ?? 0), reward_calls: calls(l?.reward_calls), cost: Number(l?.cost ?? 0), stages };
}

type AnyResult = JobResult | JobResult__Output;

/** One prompt of the report (and one line of results.jsonl). */
export function promptJson(p: PromptResult | PromptResult__Output, topK: number): SearchReport['prompts'][number] {
  return {
    prompt: Number(p.prompt ?? 0),
    ...(p.text ? { text: p.text } : {}),
    winner: winnerJson(p.winner),
    ...(topK > 0 ? { top_k: (p.top_k ?? []).map(winnerJson) } : {}),
    explored: (p.explored ?? []).map(Number),
    ledger: ledgerFromProto(p.ledger),
    ...withSettings(settingsJson(p.settings)),
  };
}

function withSettings(s: PromptSettingsJson | null): { settings?: PromptSettingsJson } {
  return s ? { settings: s } : {};
}
type AnyWinner = NonNullable<PromptResult['winner']>;

function winnerJson(w: AnyWinner | null | undefined): WinnerJson {
  return {
    candidate: Number(w?.candidate ?? 0),
    seed: Number(w?.seed ?? 0),
    rewards: Object.fromEntries(Object.entries(w?.rewards ?? {}).map(([k, v]) => [k, Number(v)])),
  };
}

/**
 * The `search --json` document: `{ job, prompts: [{ prompt, winner: { candidate, seed, rewards }, explored,
 * ledger }], ledger, timeline: { makespan_s, worker_busy_s, waited_s } }`, plus `top_k` per prompt when asked for,
 * `text` for text prompts and `movement` (latent moves, bytes, recomputed steps, workers lost, steps lost workers
 * may have run unscored).
 */
export function resultJson(r: AnyResult, topK: number): SearchReport {
  const prompts = (r.prompts ?? []).map((p) => promptJson(p, topK));
  const busy = r.timeline?.worker_busy_s ?? {};
  return {
    job: r.job ?? '',
    prompts,
    ledger: ledgerFromProto(r.ledger),
    timeline: {
      makespan_s: Number(r.timeline?.makespan_s ?? 0),
      worker_busy_s: Object.fromEntries(Object.entries(busy).map(([k, v]) => [k, Number(v)])),
      waited_s: Number(r.timeline?.waited_s ?? 0),
    },
    movement: {
      moves: Number(r.movement?.moves ?? 0),
      bytes: Number(r.movement?.bytes ?? 0),
      recomputed_steps: Number(r.movement?.recomputed_steps ?? 0),
      workers_lost: Number(r.movement?.workers_lost ?? 0),
      unscored_steps: Number(r.movement?.unscored_steps ?? 0),
    },
    ...withProvenance(provenanceJson(r.provenance)),
  };
}

function withProvenance(p: ProvenanceJson | null): { provenance?: ProvenanceJson } {
  return p ? { provenance: p } : {};
}
