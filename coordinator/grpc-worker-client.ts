import * as grpc from '@grpc/grpc-js';
import { infoFromProto, type BackendInfo, type RewardSpec } from '../core/contract/backend-info.js';
import type { CandidateRef, HeldCandidate, PromptCandidates, TakePrompt, TakeSpec } from '../core/contract/candidates.js';
import { collectSourceFromProto, tweedieChunkFromProto, variantStepsToProto, type CollectPlan, type TweedieChunk, type WorkerCollectSource } from '../core/contract/collect.js';
import type { CollectScoresPart__Output } from '../core/generated/ttsnap/v1/CollectScoresPart.js';
import type { CollectScoresRequest } from '../core/generated/ttsnap/v1/CollectScoresRequest.js';
import type { CollectScoresResponse__Output } from '../core/generated/ttsnap/v1/CollectScoresResponse.js';
import type { CollectSourceResponse__Output } from '../core/generated/ttsnap/v1/CollectSourceResponse.js';
import { CandidateMissingError, WorkerDrainingError, WorkerDrainingRefusal, WorkerLostError } from '../core/contract/errors.js';
import type { WorkerClient, WorkerStatus } from '../core/contract/worker-client.js';
import type { CapacityResponse__Output } from '../core/generated/ttsnap/v1/CapacityResponse.js';
import type { HoldingsResponse__Output } from '../core/generated/ttsnap/v1/HoldingsResponse.js';
import type { ExportLatentResponse__Output } from '../core/generated/ttsnap/v1/ExportLatentResponse.js';
import type { ImportLatentResponse__Output } from '../core/generated/ttsnap/v1/ImportLatentResponse.js';
import type { RenderResponse__Output } from '../core/generated/ttsnap/v1/RenderResponse.js';
import type { WorkerBatchOp } from '../core/generated/ttsnap/v1/WorkerBatchOp.js';
import type { TakeCandidate } from '../core/generated/ttsnap/v1/TakeCandidate.js';
import type { WorkerBatchRequest } from '../core/generated/ttsnap/v1/WorkerBatchRequest.js';
import type { WorkerBatchResponse__Output } from '../core/generated/ttsnap/v1/WorkerBatchResponse.js';
import type { WorkerClient as GrpcStub } from '../core/generated/ttsnap/v1/Worker.js';
import { channelOptions, MAX_WORKER_MESSAGE, workerProto } from '../core/grpc/load.js';
import { errorName } from '../core/grpc/status.js';
import { GridBuffer } from '../core/grid-buffer.js';
import { groupRefs, promptSpecs } from '../core/contract/candidate-groups.js';
import { LINGER_GRID_MS } from '../core/grid-delay.js';

/** Codes that mean the worker process is gone or unreachable (not that the request was wrong). */
const LOST = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED, grpc.status.UNKNOWN]);

/** One unary call on the generated stub, given the call options and the callback (typed by the stub's own overloads). */
type Invoke<Res> = (opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** A whole denoise of a collect batch: the batch watchdog's time, not one call's. */
const COLLECT_DEADLINE_MS = 300_000;

/**
 * ms a release waits for other calls to ride with (releases are fire and forget: nothing waits on them). A busy
 * worker is refilled every couple of batches, so most releases ride with a fill; at 20 ms most of those of
 * pruned candidates went alone, a Batch request each. A fill's send cancels the wait (GridBuffer): a timer left
 * from releases that rode with a fill used to send the next ones early and alone, half of all Batch requests
 * in bench:scale (9,116 of 18,580 for 100k candidates; 98 of 10,265 since).
 */
const RELEASE_LINGER_MS = 500;

/** Settles one op's promise: done (null) or failed. */
type Settle = (err: Error | null) => void;

interface Queued {
  /** the op in the grouped wire form (candidate-groups.ts) or the ungrouped one, chosen when it is sent */
  readonly op: (grouped: boolean) => WorkerBatchOp;
  readonly settle: Settle;
}

/**
 * A Batch request sent and not yet answered: only how to settle its ops. An op stays unanswered for its whole
 * segment (up to a second or more); holding its candidates' lists until then had them outlive two scavenges,
 * promoted and marked, instead of dying young.
 */
interface Sent {
  readonly settle: readonly Settle[];
  /**
   * the ops as sent, kept only while the stream has not said it reads grouped candidates: a worker without
   * Batch (it answers UNIMPLEMENTED, and never says so) then gets them one call each
   */
  ops: readonly WorkerBatchOp[] | null;
  readonly timer: NodeJS.Timeout;
}

type BatchStream = grpc.ClientDuplexStream<WorkerBatchRequest, WorkerBatchResponse__Output>;

/**
 * WorkerClient over gRPC; failures are translated once here into the coordinator's error classes. Take, Advance
 * and Release calls made in one turn of the event loop travel as one request on the worker's Batch stream (the
 * fill pass places work on many prompts at once: a unary call per segment made the coordinator's cost the
 * number of small RPCs); each call still settles with its own outcome, or fails with the stream (the worker
 * lost) or after the deadline. Releases linger a little to ride with the next fill's calls. The worker answers
 * at once only requests with a failed op and acknowledges the others together (an answer each cost about as much
 * as the request): a success settles up to a second late, which only the deadline watches.
 */
export class GrpcWorkerClient implements WorkerClient {
  private readonly stub: GrpcStub;
  /** calls not yet sent: releases held for the grid, the others until the next turn (and the releases held with them) */
  private readonly outbox = new GridBuffer<Queued>((ops) => this.send(ops), LINGER_GRID_MS, RELEASE_LINGER_MS);
  /** false once the worker answered UNIMPLEMENTED to Batch (an older worker): one call per op, as before */
  private batching = true;
  private stream: BatchStream | null = null;
  /** the worker on the open stream said it reads grouped candidates (a worker of either kind may come back on a new one) */
  private grouped = false;
  private readonly sent = new Map<number, Sent>();
  private nextId = 0;
  /**
   * The release queued last, while nothing has been queued or sent after it: a release of the same job's
   * candidates joins it (same order of ops on the wire; a release of all the job's candidates never joins).
   */
  private lastRelease: { readonly job: string; readonly groups: PromptCandidates[]; readonly promise: Promise<void> } | null = null;

  constructor(
    readonly id: string,
    readonly address: string,
    /** deadline of each call, ms */
    private readonly deadlineMs = 30_000,
    /** the coordinator's TLS identity when the cluster runs mutual TLS */
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    /**
     * called on every answer on the Batch stream, keepalives included, with the busy seconds a keepalive carries
     * (0 = not said): the worker is alive (it sends no heartbeats while the stream is open)
     */
    private readonly onAnswer: (busySeconds: number) => void = () => undefined,
  ) {
    const Ctor = workerProto().ttsnap.v1.Worker;
    this.stub = new Ctor(address, credentials, channelOptions(MAX_WORKER_MESSAGE));
  }

  async status(): Promise<WorkerStatus & { info: BackendInfo }> {
    const res = await this.call<CapacityResponse__Output>((o, cb) => this.stub.Capacity({}, o, cb), 3_000);
    const info = infoFromProto(res.info);
    if (!info) throw new WorkerLostError(this.id, 'reports no backend');
    return { info, live: res.live, queued: res.queued, busySeconds: Number(res.busy_s), batches: 0, steps: 0 };
  }

  take(job: string, prompts: readonly TakePrompt[]): Promise<void> {
    return this.enqueue((grouped) => ({ take: grouped ? { job, prompts: [...prompts] } : { job, candidates: promptSpecs(prompts).map(takeCandidate) } }), 'now');
  }

  advance(job: string, toStep: number, groups: readonly PromptCandidates[], rewards: readonly RewardSpec[], previews = false): Promise<void> {
    const req = { job, to_step: toStep, rewards: rewards.map((r) => ({ name: r.name, noise_aware: r.noiseAware })), previews };
    return this.enqueue((grouped) => ({ advance: grouped ? { ...req, groups: [...groups] } : { ...req, candidates: groupRefs(groups) } }), 'now');
  }

  release(job: string, groups: readonly PromptCandidates[] = []): Promise<void> {
    // a prompt's stage closing releases its pruned where they live: a score message closing many stages made a
    // release op (and its promise) per prompt and worker, waiting together for the linger; they now share one
    const last = this.lastRelease;
    if (last?.job === job && groups.length > 0) {
      for (const g of groups) last.groups.push(g);
      return last.promise;
    }
    const list = [...groups];
    const promise = this.enqueue((grouped) => ({ release: grouped ? { job, groups: list } : { job, candidates: groupRefs(list) } }), 'later');
    if (list.length > 0) this.lastRelease = { job, groups: list, promise };
    return promise;
  }

  async exportLatent(job: string, ref: CandidateRef, release: boolean): Promise<{ state: Uint8Array; step: number }> {
    const res = await this.call<ExportLatentResponse__Output>((o, cb) => this.stub.ExportLatent({ job, candidate: ref, release }, o, cb));
    return { state: new Uint8Array(res.state.buffer, res.state.byteOffset, res.state.byteLength), step: res.step };
  }

  async importLatent(job: string, ref: CandidateRef, state: Uint8Array): Promise<number> {
    const req = { job, candidate: ref, state: Buffer.from(state.buffer, state.byteOffset, state.byteLength) };
    const res = await this.call<ImportLatentResponse__Output>((o, cb) => this.stub.ImportLatent(req, o, cb));
    return res.step;
  }

  async render(job: string, ref: CandidateRef): Promise<Uint8Array> {
    const res = await this.call<RenderResponse__Output>((o, cb) => this.stub.Render({ job, candidate: ref }, o, cb));
    return new Uint8Array(res.png);
  }

  async holdings(): Promise<HeldCandidate[]> {
    const res = await this.call<HoldingsResponse__Output>((o, cb) => this.stub.Holdings({}, o, cb), 10_000);
    return res.held;
  }

  async collect(job: string, specs: readonly TakeSpec[], plan: CollectPlan, fingerprint: string, onTweedie?: (chunk: TweedieChunk) => Promise<void> | void): Promise<Float32Array> {
    const candidates = specs.map(takeCandidate);
    const req = { job, candidates, rewards: [...plan.rewards], variant_steps: variantStepsToProto(plan.variantSteps), fingerprint, save_tweedie: [...plan.saveTweedie] };
    if (plan.saveTweedie.length > 0) return this.collectStream(req, (chunk) => onTweedie?.(chunk));
    // a whole denoise of the batch: allow it the batch watchdog's time, not one call's
    const res = await this.call<CollectScoresResponse__Output>((o, cb) => this.stub.CollectScores(req, o, cb), COLLECT_DEADLINE_MS);
    return Float32Array.from(res.values);
  }

  /** CollectScoresStream: the image pieces to `onTweedie` as they come, the values from the last message. */
  private collectStream(req: CollectScoresRequest, onTweedie: (chunk: TweedieChunk) => Promise<void> | void): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      let values: Float32Array | null = null;
      let failed: Error | null = null;
      let call: grpc.ClientReadableStream<CollectScoresPart__Output>;
      try {
        call = this.stub.CollectScoresStream(req, { deadline: Date.now() + COLLECT_DEADLINE_MS });
      } catch (err) {
        return reject(new WorkerLostError(this.id, err instanceof Error ? err.message : String(err), { cause: err }));
      }
      const fail = (err: unknown): void => {
        failed ??= new Error(`worker ${this.id}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        call.cancel();
      };
      call.on('data', (m: CollectScoresPart__Output) => {
        try {
          if (m.values) values = Float32Array.from(m.values.values);
          if (!m.tweedie) return;
          const taken = onTweedie(tweedieChunkFromProto(m.tweedie));
          if (!taken) return;
          // the receiver is slow: read no more until it has taken this piece (the worker waits for the stream to drain)
          call.pause();
          taken.then(() => call.resume(), fail);
        } catch (err) {
          fail(err);
        }
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (err.code === grpc.status.UNIMPLEMENTED) failed ??= new Error(`worker ${this.id} does not send Tweedie images (an older version): upgrade it to collect with --save-tweedie`, { cause: err });
        reject(failed ?? this.failure(err.code, errorName(err), err.details, err));
      });
      call.on('end', () => (values ? resolve(values) : reject(failed ?? new WorkerLostError(this.id, 'CollectScoresStream ended without values'))));
    });
  }

  async collectSource(): Promise<WorkerCollectSource> {
    const res = await this.call<CollectSourceResponse__Output>((o, cb) => this.stub.CollectSource({}, o, cb));
    const source = collectSourceFromProto(res);
    if (!source) throw new WorkerLostError(this.id, 'reports no backend');
    return source;
  }

  close(): void {
    // held releases fail now, as the worker lost; their timer used to fire after close and send them to nobody
    this.lastRelease = null;
    for (const q of this.outbox.close()) q.settle(new WorkerLostError(this.id, 'its client was closed'));
    this.stream?.cancel();
    this.stub.close();
  }

  /** Queues one op for the next Batch call: at once (next turn of the event loop) or, for releases, a little later. */
  private enqueue(op: (grouped: boolean) => WorkerBatchOp, when: 'now' | 'later'): Promise<void> {
    const { promise, settle } = deferred();
    this.lastRelease = null;
    if (when === 'now') this.outbox.pushSoon({ op, settle });
    else this.outbox.push({ op, settle });
    return promise;
  }

  private send(queued: readonly Queued[]): void {
    this.lastRelease = null;
    const settle = queued.map((q) => q.settle);
    if (!this.batching) return this.callEach(queued.map((q) => q.op(false)), settle);
    // never 0: that is a keepalive's id
    const id = (this.nextId = (this.nextId + 1) >>> 0 || 1);
    const timer = setTimeout(() => this.settle(id, null, new WorkerLostError(this.id, `DEADLINE_EXCEEDED: no answer to a batch in ${this.deadlineMs} ms`)), this.deadlineMs);
    const sent: Sent = { settle, ops: null, timer };
    this.sent.set(id, sent);
    try {
      // opened first: a new stream starts ungrouped until its worker says otherwise
      const stream = this.openStream();
      const ops = queued.map((q) => q.op(this.grouped));
      if (!this.grouped) sent.ops = ops;
      stream.write({ id, ops, answer_failures: true });
    } catch (err) {
      // the channel was closed meanwhile (the worker was dropped from the pool): the worker is lost to us
      this.settle(id, null, new WorkerLostError(this.id, err instanceof Error ? err.message : String(err), { cause: err }));
    }
  }

  private openStream(): BatchStream {
    if (this.stream) return this.stream;
    const stream = this.stub.Batch();
    this.stream = stream;
    this.grouped = false;
    stream.on('data', (res: WorkerBatchResponse__Output) => this.answered(res));
    const ended = (err: grpc.ServiceError | null): void => {
      if (this.stream === stream) this.stream = null;
      const unanswered = [...this.sent.keys()];
      if (err?.code === grpc.status.UNIMPLEMENTED) {
        this.batching = false;
        for (const id of unanswered) {
          const s = this.forget(id);
          if (s?.ops) this.callEach(s.ops, s.settle);
          else s?.settle.forEach((settle) => settle(new WorkerLostError(this.id, 'does not take Batch calls, and its ops were not kept')));
        }
        return;
      }
      const lost = err ? this.failure(err.code, errorName(err), err.details, err) : new WorkerLostError(this.id, 'the batch stream ended');
      for (const id of unanswered) this.settle(id, null, lost);
    };
    stream.on('error', ended);
    stream.on('end', () => ended(null));
    return stream;
  }

  /**
   * An answer settles its request and, the worker applying requests in order, every earlier one still
   * unanswered: the worker acknowledges requests whose ops all succeeded by answering the last of them.
   */
  private answered(res: WorkerBatchResponse__Output): void {
    if (res.grouped) this.grouped = true;
    this.onAnswer(res.busy_s);
    if (res.id === 0 || !this.sent.has(res.id)) return;
    for (const id of this.sent.keys()) {
      if (id === res.id) break;
      this.settle(id, null, null);
    }
    this.settle(res.id, res, null);
  }

  /** Forgets a sent request and returns it. */
  private forget(id: number): Sent | undefined {
    const s = this.sent.get(id);
    if (!s) return undefined;
    clearTimeout(s.timer);
    this.sent.delete(id);
    return s;
  }

  /** Settles a sent request's ops: each with its outcome, all with `err`, or (neither given) all done. */
  private settle(id: number, res: WorkerBatchResponse__Output | null, err: Error | null): void {
    const ops = this.forget(id)?.settle ?? [];
    ops.forEach((settle, i) => {
      const out = res?.outcomes[i];
      if (err) settle(err);
      else if (!res) settle(null);
      else if (!out) settle(new WorkerLostError(this.id, `answered ${res?.outcomes.length ?? 0} of ${ops.length} ops`));
      else if (out.code === grpc.status.OK) settle(null);
      else settle(this.failure(out.code, out.error, out.details, out));
    });
  }

  /** One call per op (a worker without Batch: it predates grouped candidates, so `ops` are ungrouped). */
  private callEach(ops: readonly WorkerBatchOp[], settle: readonly Settle[]): void {
    ops.forEach((op, i) => {
      const done = settle[i] as Settle;
      const sent = op.take
        ? this.call((o, cb) => this.stub.Take(op.take ?? {}, o, cb))
        : op.advance
          ? this.call((o, cb) => this.stub.Advance(op.advance ?? {}, o, cb))
          : this.call((o, cb) => this.stub.Release(op.release ?? {}, o, cb));
      sent.then(() => done(null), done);
    });
  }

  /** The coordinator's error class for a failed call or op (status code, error class name, details). */
  private failure(code: number, name: string, details: string, cause: unknown): Error {
    if (name === WorkerDrainingError.name) return new WorkerDrainingRefusal(this.id, details, { cause });
    if (code === grpc.status.NOT_FOUND) return new CandidateMissingError(details, { cause });
    if (LOST.has(code)) return new WorkerLostError(this.id, `${grpc.status[code]}: ${details}`, { cause });
    return new Error(`worker ${this.id}: ${grpc.status[code]}: ${details}`, { cause });
  }

  private call<Res>(invoke: Invoke<Res>, deadlineMs = this.deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      const answered = (err: grpc.ServiceError | null, res?: Res): void => {
        if (!err && res) return resolve(res);
        if (!err) return reject(new WorkerLostError(this.id, 'empty answer'));
        reject(this.failure(err.code, errorName(err), err.details, err));
      };
      try {
        invoke({ deadline: Date.now() + deadlineMs }, answered);
      } catch (err) {
        // a call on a channel closed meanwhile (the worker was dropped from the pool) throws at once: the worker is lost to us
        reject(new WorkerLostError(this.id, err instanceof Error ? err.message : String(err), { cause: err }));
      }
    });
  }
}

/**
 * A promise and the function that settles it. Made apart from the op on purpose: a settle function made where
 * the op is would keep it (and its candidates' lists) through its scope until the worker answers.
 */
function deferred(): { promise: Promise<void>; settle: Settle } {
  let settle: Settle = () => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  return { promise, settle };
}

/** A TakeSpec on the wire (its sampling settings only where it has them). */
function takeCandidate(s: TakeSpec): TakeCandidate {
  return { prompt: s.prompt, candidate: s.candidate, seed: s.seed, text: s.text, ...(s.sampling ? { sampling: s.sampling } : {}) };
}
