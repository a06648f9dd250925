import type { Job } from './job.js';
import { UNPLACED, type PromptRun } from './prompt-run.js';
import { appliesSampling, type WorkerPool, type WorkerSlot } from './workers.js';

/** Where a group of one prompt's candidates goes for its next segment. */
export interface Assignment {
  readonly job: Job;
  readonly run: PromptRun;
  /** home: state already there; new: create from seed there; move: export from `source`, import there */
  readonly kind: 'home' | 'new' | 'move';
  readonly source: string | null;
  readonly candidates: number[];
}

/** Passes: evacuate = move survivors off draining workers, before taking new work. */
type Kind = Assignment['kind'] | 'evacuate';

/** Every pass, in order. */
const PASSES: readonly Kind[] = ['home', 'evacuate', 'new', 'move'];
/** The passes of a job's own work (what the worker holds, then new candidates): nothing moved onto the worker. */
export const OWN_PASSES: readonly Kind[] = ['home', 'new'];

/**
 * Picks up to `free` candidates for `worker`, in four passes: segments of candidates it already holds;
 * survivors held by draining workers (moved here); then candidates nobody holds (new prompts, admitted only now, or recomputation after a loss); then, so
 * that it does not idle while another worker has a backlog, survivors moved from a full or draining worker.
 * Within a pass jobs take turns by fewest candidates in flight (fair share), and a job's earliest prompts (input
 * order) go first so they leave the system early.
 */
export function planFill(worker: WorkerSlot, free: number, jobs: readonly Job[], pool: WorkerPool, now: number, passes = PASSES): Assignment[] {
  const out: Assignment[] = [];
  // Submission order, for ties; only where there is more than one job (a worker's fill of one job's own work, and
  // a job alone on its pool, run on every fill: they need no map of it).
  const order = jobs.length > 1 ? new Map(jobs.map((j, i) => [j, i])) : null;
  // fewest in flight first, submission order between equals
  const before = (a: Job, b: Job): boolean => a.inflight < b.inflight || (a.inflight === b.inflight && order !== null && (order.get(a) as number) < (order.get(b) as number));
  // A worker that does not apply sampling settings (an older one, in a pool being upgraded) takes no candidate of
  // a job that sets them: it would run them with its own settings, and nothing would say so.
  const applies = appliesSampling(worker.info);
  for (const kind of passes) {
    // A pass that moves survivors needs a source (a draining worker; for move, also a full one): without one it
    // would visit every active prompt's holders for nothing, and it ran on each fill of each worker.
    if ((kind === 'evacuate' || kind === 'move') && !pool.hasSource(kind)) continue;
    // Sorted once per pass; a job with nothing of this kind is passed by, one that got work moves back to its
    // place: O(jobs log jobs) a pass rather than a scan of every job for each pick and each job passed by.
    const queue = jobs.filter((j) => j.state === 'running' && (applies || !j.spec.setsSampling));
    if (queue.length > 1) queue.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    let at = 0;
    while (free > 0 && at < queue.length) {
      const job = queue[at] as Job;
      const a = pickFrom(job, kind, worker, free, pool, now);
      if (!a) {
        at++;
        continue;
      }
      out.push(a);
      job.inflight += a.candidates.length;
      free -= a.candidates.length;
      for (let k = at; k + 1 < queue.length && before(queue[k + 1] as Job, job); k++) [queue[k], queue[k + 1]] = [queue[k + 1] as Job, job];
    }
  }
  return out;
}

function pickFrom(job: Job, kind: Kind, worker: WorkerSlot, free: number, pool: WorkerPool, now: number): Assignment | null {
  if (kind === 'home' || kind === 'new') {
    // the job's earliest prompt with candidates waiting where this pass takes them from (job.pending)
    const run = job.pending.first(kind === 'home' ? worker.id : UNPLACED);
    if (run) return pickInPrompt(job, run, kind, worker, free, pool);
  } else {
    for (const run of job.active) {
      const a = pickInPrompt(job, run, kind, worker, free, pool);
      if (a) return a;
    }
  }
  if (kind === 'new' && job.hasUnadmitted) return pickInPrompt(job, job.admit(now), kind, worker, free, pool);
  return null;
}

function pickInPrompt(job: Job, run: PromptRun, kind: Kind, worker: WorkerSlot, free: number, pool: WorkerPool): Assignment | null {
  if (run.pending.size === 0) return null;
  if (kind === 'home' || kind === 'new') {
    const holder = kind === 'home' ? worker.id : UNPLACED;
    const candidates = run.takePending(holder, free);
    return candidates.length > 0 ? { job, run, kind, source: null, candidates } : null;
  }
  for (const holder of run.pending.keys()) {
    if (holder === UNPLACED || holder === worker.id) continue;
    const src = pool.get(holder);
    // Move only from a worker that cannot start the segment now; a source that is gone is handled as a loss.
    if (!src || (kind === 'evacuate' ? !src.draining : !src.draining && src.outstanding < src.limit)) continue;
    const candidates = run.takePending(holder, free);
    if (candidates.length > 0) return { job, run, kind: 'move', source: holder, candidates };
  }
  return null;
}

/** What grouping reads of an assignment. */
interface Groupable {
  readonly kind: Assignment['kind'];
  readonly job: { readonly id: string };
  readonly run: { readonly request: { readonly step: number; readonly final: boolean } };
}

/**
 * A fill's assignments in groups that travel as one call of each kind: those of one job, kind and stage step (and
 * the same rewards: a final stage scores without noise awareness), whatever their prompts; a move alone (its own
 * source). A worker refilled with 32 places took them from some ten prompts, an Advance (and for new ones a Take)
 * each: a call, a promise and their settling per prompt rather than per worker and stage.
 */
export function segmentGroups<A extends Groupable>(assignments: readonly A[]): A[][] {
  if (assignments.length < 2) return assignments.length === 1 ? [[assignments[0] as A]] : [];
  const groups = new Map<string, A[]>();
  const out: A[][] = [];
  for (const a of assignments) {
    if (a.kind === 'move') {
      out.push([a]);
      continue;
    }
    const key = `${a.job.id} ${a.kind} ${a.run.request.step} ${a.run.request.final ? 'f' : ''}`;
    const group = groups.get(key);
    if (group) group.push(a);
    else groups.set(key, [a]);
  }
  return [...out, ...groups.values()];
}

