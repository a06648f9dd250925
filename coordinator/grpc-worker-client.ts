import * as grpc from '@grpc/grpc-js';
import { infoFromProto, type BackendInfo, type RewardSpec } from '../core/contract/backend-info.js';
import type { CandidateRef, HeldCandidate, TakeSpec } from '../core/contract/candidates.js';
import { collectSourceFromProto, variantStepsToProto, type CollectPlan, type WorkerCollectSource } from '../core/contract/collect.js';
import type { CollectScoresResponse__Output } from '../core/generated/ttsnap/v1/CollectScoresResponse.js';
import type { CollectSourceResponse__Output } from '../core/generated/ttsnap/v1/CollectSourceResponse.js';
import { CandidateMissingError, WorkerDrainingError, WorkerDrainingRefusal, WorkerLostError } from '../core/contract/errors.js';
import type { WorkerClient, WorkerStatus } from '../core/contract/worker-client.js';
import type { CapacityResponse__Output } from '../core/generated/ttsnap/v1/CapacityResponse.js';
import type { HoldingsResponse__Output } from '../core/generated/ttsnap/v1/HoldingsResponse.js';
import type { ExportLatentResponse__Output } from '../core/generated/ttsnap/v1/ExportLatentResponse.js';
import type { ImportLatentResponse__Output } from '../core/generated/ttsnap/v1/ImportLatentResponse.js';
import type { RenderResponse__Output } from '../core/generated/ttsnap/v1/RenderResponse.js';
import type { WorkerClient as GrpcStub } from '../core/generated/ttsnap/v1/Worker.js';
import { channelOptions, MAX_WORKER_MESSAGE, workerProto } from '../core/grpc/load.js';
import { errorName } from '../core/grpc/status.js';

/** Codes that mean the worker process is gone or unreachable (not that the request was wrong). */
const LOST = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED, grpc.status.UNKNOWN]);

/** One unary call on the generated stub, given the call options and the callback (typed by the stub's own overloads). */
type Invoke<Res> = (opts: grpc.CallOptions, cb: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;

/** WorkerClient over gRPC; failures are translated once here into the coordinator's error classes. */
export class GrpcWorkerClient implements WorkerClient {
  private readonly stub: GrpcStub;

  constructor(
    readonly id: string,
    readonly address: string,
    /** deadline of each call, ms */
    private readonly deadlineMs = 30_000,
    /** the coordinator's TLS identity when the cluster runs mutual TLS */
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
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

  async take(job: string, specs: readonly TakeSpec[]): Promise<void> {
    const candidates = specs.map((s) => ({ prompt: s.prompt, candidate: s.candidate, seed: s.seed, text: s.text }));
    await this.call((o, cb) => this.stub.Take({ job, candidates }, o, cb));
  }

  async advance(job: string, toStep: number, refs: readonly CandidateRef[], rewards: readonly RewardSpec[]): Promise<void> {
    const req = { job, to_step: toStep, candidates: [...refs], rewards: rewards.map((r) => ({ name: r.name, noise_aware: r.noiseAware })) };
    await this.call((o, cb) => this.stub.Advance(req, o, cb));
  }

  async release(job: string, refs: readonly CandidateRef[] = []): Promise<void> {
    await this.call((o, cb) => this.stub.Release({ job, candidates: [...refs] }, o, cb));
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

  async collect(job: string, specs: readonly TakeSpec[], plan: CollectPlan, fingerprint: string): Promise<Float32Array> {
    const candidates = specs.map((s) => ({ prompt: s.prompt, candidate: s.candidate, seed: s.seed, text: s.text }));
    const req = { job, candidates, rewards: [...plan.rewards], variant_steps: variantStepsToProto(plan.variantSteps), fingerprint };
    // a whole denoise of the batch: allow it the batch watchdog's time, not one call's
    const res = await this.call<CollectScoresResponse__Output>((o, cb) => this.stub.CollectScores(req, o, cb), 300_000);
    return Float32Array.from(res.values);
  }

  async collectSource(): Promise<WorkerCollectSource> {
    const res = await this.call<CollectSourceResponse__Output>((o, cb) => this.stub.CollectSource({}, o, cb));
    const source = collectSourceFromProto(res);
    if (!source) throw new WorkerLostError(this.id, 'reports no backend');
    return source;
  }

  close(): void {
    this.stub.close();
  }

  private call<Res>(invoke: Invoke<Res>, deadlineMs = this.deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      const answered = (err: grpc.ServiceError | null, res?: Res): void => {
        if (!err && res) return resolve(res);
        if (!err) return reject(new WorkerLostError(this.id, 'empty answer'));
        const name = errorName(err);
        if (name === WorkerDrainingError.name) reject(new WorkerDrainingRefusal(this.id, err.details, { cause: err }));
        else if (err.code === grpc.status.NOT_FOUND) reject(new CandidateMissingError(err.details, { cause: err }));
        else if (LOST.has(err.code)) reject(new WorkerLostError(this.id, `${grpc.status[err.code]}: ${err.details}`, { cause: err }));
        else reject(new Error(`worker ${this.id}: ${grpc.status[err.code]}: ${err.details}`, { cause: err }));
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
