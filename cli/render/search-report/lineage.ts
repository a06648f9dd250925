type Num = number | string | null | undefined;

/** The part of a coordinator event lineage needs: a prune decision (JobEvent.pruned; either transport's shape). */
export interface PruneEventLike {
  readonly pruned?: { readonly prompt?: Num; readonly step?: Num; readonly kept?: readonly Num[] | null; readonly pruned?: readonly Num[] | null } | null;
}

/** One prune point of one prompt: who was scored there and kept or dropped. */
export interface PruneStep {
  readonly step: number;
  readonly kept: readonly number[];
  readonly pruned: readonly number[];
}

/**
 * The pruning lineage of every prompt of a job, gathered from its events as they arrive (any backend, embedded
 * or remote): per prompt, the prune points in step order. A repeated event (a resumed watch) changes nothing.
 */
export class PruneLineage {
  private readonly byPrompt = new Map<number, PruneStep[]>();

  /** `idOf` maps the job's prompt number to the id the report uses (identity by default). */
  constructor(private readonly idOf: (jobPrompt: number) => number = (p) => p) {}

  onEvent(ev: PruneEventLike): void {
    const e = ev.pruned;
    if (!e) return;
    const prompt = this.idOf(Number(e.prompt ?? 0));
    const step = Number(e.step ?? 0);
    const list = this.byPrompt.get(prompt) ?? [];
    if (list.some((s) => s.step === step)) return;
    list.push({ step, pruned: (e.pruned ?? []).map(Number), kept: (e.kept ?? []).map(Number) });
    list.sort((a, b) => a.step - b.step);
    this.byPrompt.set(prompt, list);
  }

  of(prompt: number): readonly PruneStep[] {
    return this.byPrompt.get(prompt) ?? [];
  }
}
