import type { JobEvent } from '../../../core/generated/ttsnap/v1/JobEvent.js';
import type { Ledger } from '../../../core/engine/ledger.js';

/** How far a job has got through one stage (a prune point, or the final step). */
export interface StageCount {
  readonly step: number;
  readonly final: boolean;
  /** prompts through this stage (pruned here, or finished for the final stage) */
  readonly prompts: number;
  /** candidates scored at this stage (prune points) or that reached it (final) */
  readonly candidates: number;
  /** of them, kept (prune points) */
  readonly kept: number;
}

/** Everything a progress line shows. */
export interface ProgressSnapshot {
  readonly prompts: number;
  readonly promptsDone: number;
  readonly stages: readonly StageCount[];
  /** cost spent so far: the plan's cost of every stage passed, or the ledger's of finished prompts, whichever is more */
  readonly spent: number;
  /** planned cost of the job (null until known) */
  readonly planned: number | null;
  readonly elapsedS: number;
  /** cost per second so far (0 before any) */
  readonly rate: number;
  /** seconds left at that rate (null when it cannot be told) */
  readonly leftS: number | null;
}

interface Tally {
  final: boolean;
  prompts: number;
  candidates: number;
  kept: number;
}

/**
 * Stage-level progress of a search job, folded from its events (either transport's shape): a prune event
 * says one prompt passed a prune point with so many candidates scored and kept; a final-stage event says its
 * finalists entered the last segment; a budget event says how many prompts are done and what they cost.
 * With `planPerPrompt` (the engine's planned ledger of one prompt, where the backend is known) the stages
 * passed are costed as planned, so the figure moves within a prompt instead of only when one finishes.
 */
export class StageProgress {
  private readonly tallies = new Map<number, Tally>();
  private promptsDone = 0;
  private ledgerCost = 0;
  private plannedCost: number | null;
  private lastAt = 0;

  constructor(
    private readonly prompts: number,
    private readonly planPerPrompt: Ledger | null = null,
  ) {
    this.plannedCost = planPerPrompt ? planPerPrompt.cost * prompts : null;
    const last = planPerPrompt?.stages[planPerPrompt.stages.length - 1]?.step;
    for (const s of planPerPrompt?.stages ?? []) this.tally(s.step, s.step === last);
  }

  /** Folds one event in; true when it changed what a line would show. */
  onEvent(e: JobEvent): boolean {
    this.lastAt = Math.max(this.lastAt, Number(e.at_s ?? 0));
    if (e.pruned) {
      const t = this.tally(Number(e.pruned.step ?? 0), false);
      const kept = e.pruned.kept?.length ?? 0;
      t.prompts++;
      t.kept += kept;
      t.candidates += kept + (e.pruned.pruned?.length ?? 0);
      return true;
    }
    if (e.stage?.final) {
      this.tally(Number(e.stage.step ?? 0), true).candidates += Number(e.stage.alive ?? 0);
      return true;
    }
    if (e.budget) {
      this.promptsDone = Number(e.budget.prompts_done ?? 0);
      this.ledgerCost = Number(e.budget.cost ?? 0);
      if (Number(e.budget.planned ?? 0) > 0) this.plannedCost = Number(e.budget.planned);
      return true;
    }
    return false;
  }

  snapshot(elapsedS = this.lastAt): ProgressSnapshot {
    const stages = [...this.tallies.entries()].sort(([a], [b]) => a - b).map(([step, t]) => ({ step, ...t, prompts: t.final ? this.promptsDone : t.prompts }));
    const planned = this.planPerPrompt?.stages ?? [];
    const byPlan = stages.reduce((a, s) => a + s.prompts * (planned.find((p) => p.step === s.step)?.cost ?? 0), 0);
    const spent = Math.max(byPlan, this.ledgerCost);
    const rate = elapsedS > 0 ? spent / elapsedS : 0;
    const leftS = this.plannedCost !== null && rate > 0 ? Math.max(0, this.plannedCost - spent) / rate : null;
    return { prompts: this.prompts, promptsDone: this.promptsDone, stages, spent, planned: this.plannedCost, elapsedS, rate, leftS };
  }

  private tally(step: number, final: boolean): Tally {
    let t = this.tallies.get(step);
    if (!t) {
      t = { final, prompts: 0, candidates: 0, kept: 0 };
      this.tallies.set(step, t);
    }
    t.final ||= final;
    return t;
  }
}
