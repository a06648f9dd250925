import { chargedSteps, type Accounting } from './accounting.js';
import type { CostModel } from './cost-model.js';
import { survivorCounts, type Schedule } from './schedule.js';

/** Work done in one stage: from the previous score point up to and including `step`. */
export interface StageLedger {
  /** step index scored at the end of this stage (S-1 for the final stage) */
  readonly step: number;
  readonly denoise_steps: number;
  readonly reward_calls: Readonly<Record<string, number>>;
  readonly cost: number;
}

/** Executed work and its cost; JSON-shaped (snake_case) because reports print it as is. */
export interface Ledger {
  readonly candidates: number;
  readonly denoise_steps: number;
  readonly reward_calls: Readonly<Record<string, number>>;
  readonly cost: number;
  readonly stages: readonly StageLedger[];
}

interface StageTally {
  denoise: number;
  calls: Map<string, number>;
}

/**
 * Records executed work as it happens (recomputation after a failure included) and prices it.
 * Under `paper` accounting the first stage is charged one step short per candidate, as the published
 * simulator does; `exact` charges every executed step.
 */
/** localeCompare's order, with one collator made once (localeCompare sets one up per call: a prune's ledger cost more than its scores). */
const byName = new Intl.Collator().compare;

export class LedgerBook {
  private readonly tallies = new Map<number, StageTally>();
  private lastStep = -1;
  private lastTally: StageTally | null = null;
  private candidates = 0;

  constructor(
    private readonly cost: CostModel,
    private readonly accounting: Accounting,
    private readonly schedule: Schedule,
  ) {}

  addCandidates(n: number): void {
    this.candidates += n;
  }

  addDenoise(stageStep: number, candidateSteps: number): void {
    this.tally(stageStep).denoise += candidateSteps;
  }

  addRewardCalls(stageStep: number, reward: string, calls: number): void {
    const t = this.tally(stageStep);
    t.calls.set(reward, (t.calls.get(reward) ?? 0) + calls);
  }

  /** One candidate scored at `stageStep`: its denoise steps and a call of each reward (every score a prompt run takes). */
  addScored(stageStep: number, candidateSteps: number, rewards: readonly string[]): void {
    this.addDenoise(stageStep, candidateSteps);
    for (const reward of rewards) this.addRewardCalls(stageStep, reward, 1);
  }

  /** Adds work recorded earlier (a prompt's ledger from the job journal, when a coordinator resumes it). */
  addRecorded(l: Ledger): void {
    for (const st of l.stages) {
      this.addDenoise(st.step, st.denoise_steps);
      for (const [reward, calls] of Object.entries(st.reward_calls)) this.addRewardCalls(st.step, reward, calls);
    }
  }

  summary(): Ledger {
    const steps = this.steps();
    const stages: StageLedger[] = steps.map((step) => {
      const t = this.tallies.get(step) as StageTally;
      const calls = Object.fromEntries(t.calls.size < 2 ? t.calls : [...t.calls.entries()].sort(([a], [b]) => byName(a, b)));
      return { step, denoise_steps: t.denoise, reward_calls: calls, cost: this.stageCost(step, steps[0]) };
    });
    return sumStages(this.candidates, stages);
  }

  /** summary().cost, the same sum, without building the ledger (the job's budget event asks for it per finished prompt). */
  spent(): number {
    const steps = this.steps();
    let cost = 0;
    for (const step of steps) cost += this.stageCost(step, steps[0]);
    return cost;
  }

  private steps(): number[] {
    return [...this.tallies.keys()].sort((a, b) => a - b);
  }

  private stageCost(step: number, firstStep: number | undefined): number {
    const t = this.tallies.get(step) as StageTally;
    // Steps the paper formula does not charge: one per candidate, taken from the first stage.
    const discount = step === firstStep && chargedSteps(0, this.schedule, this.accounting) === 0 ? this.candidates : 0;
    let calls = 0;
    for (const n of t.calls.values()) calls += n;
    return (t.denoise - discount) * this.cost.denoise + calls * this.cost.verify;
  }

  private tally(step: number): StageTally {
    // a stage's scores come one after another: its tally, looked up once (tallies are never removed)
    if (step === this.lastStep && this.lastTally) return this.lastTally;
    let t = this.tallies.get(step);
    if (!t) {
      t = { denoise: 0, calls: new Map() };
      this.tallies.set(step, t);
    }
    this.lastStep = step;
    this.lastTally = t;
    return t;
  }
}

/** Adds stage ledgers into a total. */
export function sumStages(candidates: number, stages: readonly StageLedger[]): Ledger {
  const calls: Record<string, number> = {};
  let denoise = 0;
  let cost = 0;
  for (const s of stages) {
    denoise += s.denoise_steps;
    cost += s.cost;
    for (const [k, v] of Object.entries(s.reward_calls)) calls[k] = (calls[k] ?? 0) + v;
  }
  return { candidates, denoise_steps: denoise, reward_calls: calls, cost, stages };
}

/** Sums ledgers of several prompts (stages merged by step). */
export function mergeLedgers(ledgers: readonly Ledger[]): Ledger {
  const byStep = new Map<number, { denoise: number; cost: number; calls: Record<string, number> }>();
  let candidates = 0;
  for (const l of ledgers) {
    candidates += l.candidates;
    for (const s of l.stages) {
      const m = byStep.get(s.step) ?? { denoise: 0, cost: 0, calls: {} };
      m.denoise += s.denoise_steps;
      m.cost += s.cost;
      for (const [k, v] of Object.entries(s.reward_calls)) m.calls[k] = (m.calls[k] ?? 0) + v;
      byStep.set(s.step, m);
    }
  }
  const stages = [...byStep.entries()]
    .sort(([a], [b]) => a - b)
    .map(([step, m]) => ({ step, denoise_steps: m.denoise, reward_calls: m.calls, cost: m.cost }));
  return sumStages(candidates, stages);
}

/**
 * The ledger of one prompt searched with n candidates and no failures: what the engine alone predicts,
 * and what the embedded and distributed runtimes must report.
 * `pruneRewards` score prune points (noise-aware variants keep the base name: one call each);
 * `finalRewards` score the finalists at step S-1.
 */
export function plannedLedger(
  n: number,
  schedule: Schedule,
  cost: CostModel,
  accounting: Accounting,
  pruneRewards: readonly string[],
  finalRewards: readonly string[] = pruneRewards,
): Ledger {
  const book = new LedgerBook(cost, accounting, schedule);
  book.addCandidates(n);
  const alive = survivorCounts(n, schedule);
  let prev = -1;
  const ends = [...schedule.map((p) => p.step), cost.steps - 1];
  ends.forEach((step, i) => {
    const count = alive[i] as number;
    book.addDenoise(step, count * (step - prev));
    for (const r of i < schedule.length ? pruneRewards : finalRewards) book.addRewardCalls(step, r, count);
    prev = step;
  });
  return book.summary();
}
