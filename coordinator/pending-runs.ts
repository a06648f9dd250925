/** What the index needs of a prompt run: where it stands in its job's input. */
interface Positioned {
  readonly position: number;
}

/**
 * A job's prompts that have candidates waiting for dispatch, by the worker holding them (UNPLACED: none), each list
 * in input order. A fill pass takes the first prompt listed for the worker it fills, instead of visiting every
 * active prompt of the job for each pick (that visit was most of a fill pass's cost with hundreds of prompts under
 * way). The lists are short (the prompts a worker holds candidates of), so a sorted array serves.
 */
export class PendingRuns<R extends Positioned> {
  private readonly byHolder = new Map<string, R[]>();

  /** The earliest prompt with candidates waiting at `holder`, or undefined. */
  first(holder: string): R | undefined {
    return this.byHolder.get(holder)?.[0];
  }

  /** Records that `run` has candidates waiting at `holder` (has) or no longer (not has). */
  set(run: R, holder: string, has: boolean): void {
    let list = this.byHolder.get(holder);
    if (has) {
      if (!list) this.byHolder.set(holder, (list = []));
      let at = list.length;
      while (at > 0 && (list[at - 1] as R).position > run.position) at--;
      if (list[at - 1] !== run) list.splice(at, 0, run);
      return;
    }
    const at = list ? list.indexOf(run) : -1;
    if (!list || at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) this.byHolder.delete(holder);
  }
}
