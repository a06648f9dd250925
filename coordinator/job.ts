import { mergeLedgers, type Ledger } from '../core/engine/ledger.js';
import { FinishedPrompts } from './finished-prompts.js';
import type { BudgetSpent } from '../core/generated/ttsnap/v1/BudgetSpent.js';
import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { SurvivorsMoved } from '../core/generated/ttsnap/v1/SurvivorsMoved.js';
import type { WorkerLost } from '../core/generated/ttsnap/v1/WorkerLost.js';
import type { PromptResult } from '../core/generated/ttsnap/v1/PromptResult.js';
import { candidateSeed, drawCandidates } from './candidates.js';
import { jobSummary } from './result.js';
import type { JobSpec } from './job-spec.js';
import type { Provenance } from '../core/generated/ttsnap/v1/Provenance.js';
import { JOURNAL_SCHEMA, stageRecord, type JobJournal, type JournalRecord } from './journal/records.js';
import { PendingRuns } from './pending-runs.js';
import { PromptRun } from './prompt-run.js';
import type { HeldCandidate } from '../core/contract/candidates.js';

export type JobState = 'queued' | 'running' | 'done' | 'cancelled' | 'failed';
export const JOB_STATES: readonly JobState[] = ['queued', 'running', 'done', 'cancelled', 'failed'];

export type JobEventBody = Omit<JobEvent, 'job' | 'at_s'>;
export type JobListener = (event: JobEvent) => void;

/**
 * Bytes of events kept for replay to late watchers; beyond them only the per-prompt and final ones are (a
 * prompt_done event is kept as its position: replay takes the result from `finished`).
 */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;
const KEPT_PAST_CAP = new Set(['budget', 'worker_lost', 'waiting', 'prompt_done', 'done']);

/** How stale the under-way part of a budget event's cost may be, ms. */
const ACTIVE_COST_MS = 250;

/** Least ms between two budget events, kept or not: a running job's watchers hear how far it got at most this often. */
const PROGRESS_MS = 1000;

/** Rough bytes an event holds: a fixed part, plus the ids it lists. */
function eventBytes(e: JobEvent): number {
  return 160 + 8 * ((e.pruned?.kept?.length ?? 0) + (e.pruned?.pruned?.length ?? 0));
}

/** A prompt_done event as its position (its result is in `finished`, and in the journal's prompt record); others as they are. */
function positionOnly(e: JobEvent): JobEvent {
  const position = e.prompt_done?.position;
  return position === undefined ? e : { ...e, prompt_done: { position } };
}

/**
 * One search job: its prompts (admitted lazily so that live candidates stay bounded), their results,
 * movement counters and the event log that WatchJob replays.
 */
export class Job {
  state: JobState = 'queued';
  readonly active: PromptRun[] = [];
  /** active prompts with candidates waiting for dispatch, by the worker holding them (placement's picks) */
  readonly pending = new PendingRuns<PromptRun>();
  /** active prompts by prompt index (indices are distinct within a job) */
  readonly byPrompt = new Map<number, PromptRun>();
  /** results of the finished prompts, kept compact */
  readonly finished: FinishedPrompts;
  /** positions of prompts not yet admitted, in order (a resumed job may have gaps) */
  private readonly toAdmit: number[];
  /** candidates of the prompts not yet admitted (the backlog the scheduler sizes the workers' queues by) */
  private unadmitted = 0;
  promptsDone = 0;
  /** sequence number of the last event (WatchJob resumes after one) */
  private seq = 0;
  /** where the job's journal records go (none: in memory only) */
  journal: ((record: JournalRecord) => void) | null = null;
  /** the client's request id ('' when none), so a resubmission finds the job */
  requestId = '';
  /** id of the worker pool it runs on (only that pool's workers take its candidates) */
  pool = '';
  /** candidates of this job in flight (fair share picks the job with the fewest) */
  inflight = 0;
  readonly movement = { moves: 0, bytes: 0, recomputed_steps: 0, workers_lost: 0, unscored_steps: 0 };
  /** busy seconds per worker on this job, as last reported with its scores */
  readonly busy = new Map<string, number>();
  readonly events: JobEvent[] = [];
  /** watchers, each with what to call if this coordinator hands the job over (see handOver) */
  private readonly listeners = new Map<JobListener, (() => void) | undefined>();
  /** what `events` holds, estimated (eventBytes) */
  private eventBytes = 0;
  startedAt = 0;
  /** when the job last received a score (0 = none yet): the stall gauge counts from here */
  lastScoreAt = 0;
  endedAt = 0;
  error = '';
  /** why the running job waits for a worker ('' while one can take its candidates): its last waiting event's reason */
  waiting = '';
  /** ms it waited for a worker before the current wait; and since when it waits (read only while `waiting`) */
  private waitedMs = 0;
  private waitingSince = 0;
  /** executed cost of the finished prompts, summed as they finish (the budget event reads it per prompt) */
  private finishedCost = 0;
  /** when the last budget event went out (progress() sends the next one no sooner than PROGRESS_MS later) */
  private lastBudgetAt = Number.NEGATIVE_INFINITY;
  /** executed cost of the prompts under way, as last summed (spent()) */
  private activeCost = { at: Number.NEGATIVE_INFINITY, cost: 0 };
  /**
   * Stores the ended job's result before its done event goes out, resolving '' or what went wrong (the done
   * event then reports it); none: the done event goes out at once.
   */
  storeResult: ((job: Job) => Promise<string>) | null = null;
  /** why the result could not be stored durably ('' when it was, or when there is no store) */
  storeError = '';
  /** what produced the result (set by the coordinator at submission) */
  provenance: Provenance | null = null;
  /** resolves once the done event went out (after the result was stored) */
  readonly announced: Promise<void>;
  private announce!: () => void;
  private isAnnounced = false;
  /** ledger() of the finished prompts, merged again only when more have finished since */
  private merged: { readonly done: number; readonly ledger: Ledger } | null = null;

  constructor(
    readonly id: string,
    readonly spec: JobSpec,
    readonly createdAt: number,
  ) {
    this.finished = new FinishedPrompts(spec.prompts.length);
    this.toAdmit = spec.prompts.map((_, i) => i);
    this.unadmitted = this.candidatesOf(this.toAdmit);
    this.announced = new Promise((resolve) => (this.announce = resolve));
  }

  get ended(): boolean {
    return this.state === 'done' || this.state === 'cancelled' || this.state === 'failed';
  }

  get hasUnadmitted(): boolean {
    return this.toAdmit.length > 0;
  }

  /** Candidates of the prompts not yet admitted. */
  get unadmittedCandidates(): number {
    return this.unadmitted;
  }

  private candidatesOf(positions: readonly number[]): number {
    let n = 0;
    for (const p of positions) n += this.spec.promptN[p] ?? 0;
    return n;
  }

  /** Starts the next prompt: draws its candidates and opens its first stage. */
  admit(now: number): PromptRun {
    const run = this.open(this.toAdmit.shift() as number);
    run.beginStage(now);
    return run;
  }

  /** Draws a prompt's candidates and makes it active (its stage not yet begun). */
  private open(position: number): PromptRun {
    const s = this.spec;
    const prompt = s.prompts[position] as number;
    const seed = s.promptSeed[position] as number;
    const explored = drawCandidates(s.pool, s.promptN[position] as number, seed, prompt);
    this.unadmitted -= s.promptN[position] ?? 0;
    // a prompt's own sampling steps set where its candidates end, and its guidance what each step costs
    const cost = { ...s.cost, steps: s.promptSteps[position] ?? s.cost.steps, denoise: s.promptDenoise[position] ?? s.cost.denoise };
    const run = new PromptRun(position, prompt, s.texts[position] ?? '', explored, (i) => candidateSeed(seed, prompt, i), s.policy, s.rewards, cost, s.accounting);
    run.onPending = (holder, has) => this.pending.set(run, holder, has);
    run.onPruned = (stage, step, kept, scores, ledger) => this.journal?.(stageRecord(this.id, position, stage, step, kept, scores, ledger));
    this.active.push(run);
    this.byPrompt.set(prompt, run);
    return run;
  }

  /**
   * Rebuilds the job from its journal (a coordinator resuming it): finished prompts keep their results and
   * ledgers, prompts past a prune point continue from it with the recorded survivors (recomputed from their
   * seeds: their states died with the workers' old leases) and recorded work, the rest start afresh. Events
   * are replayed from the journal, and numbering continues after them.
   */
  restore(j: JobJournal, now: number): void {
    for (const [position, p] of j.prompts) {
      this.finished.set(position, p.result as PromptResult, p.ledger);
      this.finishedCost += p.ledger.cost;
      this.promptsDone++;
    }
    for (const [position, st] of j.stages) {
      const run = this.open(position);
      run.search.resumeAt(st.stage + 1, st.kept);
      run.book.addRecorded(st.ledger);
      run.beginStage(now);
    }
    const started = new Set([...j.prompts.keys(), ...j.stages.keys()]);
    this.toAdmit.splice(0, this.toAdmit.length, ...this.toAdmit.filter((p) => !started.has(p)));
    this.unadmitted = this.candidatesOf(this.toAdmit);
    for (const e of j.events) {
      const event = { ...(e.event as JobEvent), job: this.id, seq: e.seq };
      this.keep(event);
      // what its watchers were last told, and how long it waited (the scheduler's next sweep says if it still does)
      if (event.waiting) this.noteWaiting(event.waiting.waiting ? event.waiting.reason ?? '' : '', this.createdAt + Number(event.at_s) * 1000);
      // the movement counters live in memory: the events they count rebuild them
      if (event.worker_lost) this.countLoss(event.worker_lost);
      if (event.moved) this.countMove(Number(event.moved.bytes ?? 0));
    }
    this.seq = j.events.reduce((m, e) => Math.max(m, e.seq), 0);
  }

  /**
   * Keeps a candidate a worker still holds from before a coordinator restart (see holdings.ts): its prompt, opened
   * now if the journal showed no stage of it yet, continues from the candidate's step there. False when the
   * candidate is of no use (its prompt finished, it was pruned, or it is placed elsewhere already).
   */
  adopt(h: HeldCandidate, worker: string, now: number): boolean {
    let run = this.byPrompt.get(h.prompt);
    if (!run) {
      const position = this.toAdmit.findIndex((p) => this.spec.prompts[p] === h.prompt);
      if (position < 0) return false;
      run = this.open(this.toAdmit.splice(position, 1)[0] as number);
      run.beginStage(now);
    }
    return run.adopt(h.candidate, worker, h.step);
  }

  finishPrompt(run: PromptRun, result: PromptResult): void {
    const settings = this.spec.promptSettings[run.position];
    if (settings) result.settings = settings;
    const summary = run.book.summary();
    this.finished.set(run.position, result, summary);
    this.finishedCost += summary.cost;
    this.journal?.({ v: JOURNAL_SCHEMA, kind: 'prompt', job: this.id, position: run.position, result: result as Record<string, unknown>, ledger: summary });
    this.promptsDone++;
    this.byPrompt.delete(run.prompt);
    run.clearPending();
    const i = this.active.indexOf(run);
    if (i >= 0) this.active.splice(i, 1);
  }

  /**
   * Ledger of the prompts finished so far, merged in prompt order (so that sums do not depend on the order
   * prompts finished in); cached until another prompt finishes, so the final result and ListJobs merge once.
   */
  ledger(): Ledger {
    if (this.merged?.done !== this.promptsDone) {
      this.merged = { done: this.promptsDone, ledger: mergeLedgers(this.finished.ledgers()) };
    }
    return this.merged.ledger;
  }

  /**
   * Executed cost so far, finished prompts and those under way: no pass over the finished prompts. The part
   * under way is summed again at most every ACTIVE_COST_MS (`now` given: the budget event of each finished
   * prompt asked for it, a pass over every active prompt each time); exact once none is under way.
   */
  spent(now?: number): number {
    if (now === undefined || this.active.length === 0 || now - this.activeCost.at >= ACTIVE_COST_MS) {
      this.activeCost = { at: now ?? 0, cost: this.active.reduce((sum, r) => sum + r.book.spent(), 0) };
    }
    return this.finishedCost + this.activeCost.cost;
  }

  /**
   * The job waits for a worker, for `reason`, from `now` ('' = it no longer waits): tells its watchers when that
   * changes (a waiting event), and counts the time waited (the result's timeline). False when nothing changed.
   */
  wait(reason: string, now: number): boolean {
    if (reason === this.waiting) return false;
    this.noteWaiting(reason, now);
    this.emit({ event: 'waiting', waiting: { waiting: reason !== '', pool: this.pool, reason } }, now);
    return true;
  }

  private noteWaiting(reason: string, now: number): void {
    if (reason && !this.waiting) this.waitingSince = now;
    if (!reason && this.waiting) this.waitedMs += now - this.waitingSince;
    this.waiting = reason;
  }

  /** Seconds the job has waited for a worker (all its waits, the current one up to `now`). */
  waitedSeconds(now: number): number {
    return (this.waitedMs + (this.waiting ? now - this.waitingSince : 0)) / 1000;
  }

  /** A worker that held or ran some of this job's candidates is lost: counted, and its watchers told. */
  loseWorker(lost: WorkerLost, now: number): void {
    this.countLoss(lost);
    this.emit({ event: 'worker_lost', worker_lost: lost }, now);
  }

  /** One of this job's candidates moved between workers with `bytes` of latent state: counted, and its watchers told. */
  moveCandidate(moved: SurvivorsMoved, now: number): void {
    this.countMove(Number(moved.bytes ?? 0));
    this.emit({ event: 'moved', moved }, now);
  }

  private countLoss(lost: WorkerLost): void {
    this.movement.workers_lost++;
    this.movement.unscored_steps += lost.unscored_steps ?? 0;
  }

  private countMove(bytes: number): void {
    this.movement.moves++;
    this.movement.bytes += bytes;
  }

  /** The budget so far, as its budget events carry it (the part under way summed at most every ACTIVE_COST_MS). */
  private budget(now: number): BudgetSpent {
    return { cost: this.spent(now), planned: this.spec.planned.cost, prompts_done: this.promptsDone, prompts: this.spec.prompts.length };
  }

  /** A prompt finished: the budget event that says so (kept, journaled and replayed like every event). */
  emitBudget(now: number): void {
    this.lastBudgetAt = now;
    this.emit({ event: 'budget', budget: this.budget(now) }, now);
  }

  /**
   * A stage closed: tells the job's watchers how far the budget got, at most every PROGRESS_MS (the first time at
   * once), so that a remote `search` or `jobs watch` shows the cost, the plan and the time left before the first
   * prompt finishes and between prompts. Such a budget event goes to live watchers only: not kept, journaled or
   * replayed (the next one, or a prompt's, says more), and it carries the seq of the event before it.
   */
  progress(now: number): void {
    if (this.listeners.size === 0 || now - this.lastBudgetAt < PROGRESS_MS) return;
    this.lastBudgetAt = now;
    const event: JobEvent = { job: this.id, at_s: (now - this.createdAt) / 1000, event: 'budget', budget: this.budget(now), seq: this.seq };
    for (const l of this.listeners.keys()) l(event);
  }

  emit(body: JobEventBody, now: number): void {
    const event: JobEvent = { job: this.id, at_s: (now - this.createdAt) / 1000, ...body, seq: ++this.seq };
    const kept = this.keep(event);
    // Journaled as kept: the journal's prompt record holds the result (a replay after a restart takes it from
    // there, as from `finished`), and an event past the cap is not journaled either, since a resumed job would
    // not keep it (resume goes through keep too); at 1M a job's stage events were most of its journal records.
    if (kept) this.journal?.({ v: JOURNAL_SCHEMA, kind: 'event', job: this.id, seq: this.seq, event: kept as Record<string, unknown> });
    for (const l of this.listeners.keys()) l(event);
  }

  /**
   * Keeps an event for replay, within the byte budget (its size as sent); a prompt_done event as its position.
   * Returns what it kept, null past the cap.
   */
  private keep(event: JobEvent): JobEvent | null {
    const bytes = eventBytes(event);
    if (this.eventBytes + bytes > MAX_EVENT_BYTES && !KEPT_PAST_CAP.has(event.event ?? '')) return null;
    const kept = positionOnly(event);
    this.events.push(kept);
    this.eventBytes += bytes;
    return kept;
  }

  /** Bytes this job holds for its result and replay, estimated (the coordinator's memory budget for ended jobs). */
  get retainedBytes(): number {
    return this.finished.bytes + this.eventBytes;
  }

  /**
   * Replays past events after sequence number `afterSeq`, then follows new ones; returns the unsubscribe function.
   * `onHandOver` is called instead of an end if this coordinator stops while the job runs (see handOver).
   */
  watch(listener: JobListener, afterSeq = 0, onHandOver?: () => void): () => void {
    for (const e of this.events) {
      if ((e.seq ?? 0) <= afterSeq) continue;
      const position = e.prompt_done?.position;
      listener(position === undefined ? e : { ...e, prompt_done: this.finished.result(position) ?? null });
    }
    if (this.isAnnounced) return () => {};
    this.listeners.set(listener, onHandOver);
    return () => this.listeners.delete(listener);
  }

  /**
   * This coordinator stops while the job runs and leaves it, as the journal has it, to the next coordinator on
   * the same NATS: nothing more is journaled from here, and watchers are told the coordinator went away (they
   * reconnect), never that the job ended.
   */
  handOver(): void {
    this.journal = null;
    for (const h of this.listeners.values()) h?.();
    this.listeners.clear();
  }

  end(state: JobState, now: number, error = ''): void {
    if (state === 'done') {
      // Work beyond the plan was recomputed (lost workers, a coordinator restart); the done event's result says so.
      const planned = this.spec.planned.denoise_steps;
      this.movement.recomputed_steps = Math.max(0, this.ledger().denoise_steps - planned);
    }
    // an ended job waits for nothing: its last wait counts up to its end (no event: the done event follows)
    this.noteWaiting('', now);
    this.state = state;
    this.endedAt = now;
    this.error = error;
    if (!this.storeResult) return this.announceEnd();
    void this.storeResult(this).then((storeError) => {
      this.storeError = storeError;
      this.announceEnd();
    });
  }

  /** The done event, stamped with the end time, and the journal's end record. */
  private announceEnd(): void {
    const { state, error, endedAt } = this;
    this.emit({ event: 'done', done: { state, error, result: jobSummary(this, endedAt), prompts: this.promptsDone } }, endedAt);
    this.journal?.({ v: JOURNAL_SCHEMA, kind: 'end', job: this.id, state, error });
    this.listeners.clear();
    this.isAnnounced = true;
    this.announce();
  }
}
