import * as grpc from '@grpc/grpc-js';
import type { WorkerClient as GrpcStub } from '../core/generated/ttsnap/v1/Worker.js';
import { channelOptions, MAX_WORKER_MESSAGE, workerProto } from '../core/grpc/load.js';
import { errorName } from '../core/grpc/status.js';
import type { BackendInfo, RewardSpec } from '../worker/backend.js';
import { infoFromProto } from '../worker/info.js';
import type { CandidateRef } from '../worker/keys.js';
import type { TakeSpec, WorkerStatus } from '../worker/runtime.js';
import { CandidateMissingError, WorkerDrainingRefusal, WorkerLostError, type WorkerClient } from './worker-client.js';

/** Codes that mean the worker process is gone or unreachable (not that the request was wrong). */
const LOST = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED, grpc.status.UNKNOWN]);

type Call<Req, Res> = (req: Req, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => grpc.ClientUnaryCall;

/** WorkerClient over gRPC; failures are translated once here into the coordinator's error classes. */
export class GrpcWorkerClient implements WorkerClient {
  private readonly stub: GrpcStub;

  constructor(
    readonly id: string,
    readonly address: string,
    /** deadline of each call, ms */
    private readonly deadlineMs = 30_000,
  ) {
    const Ctor = workerProto().ttsnap.v1.Worker;
    this.stub = new Ctor(address, grpc.credentials.createInsecure(), channelOptions(MAX_WORKER_MESSAGE));
  }

  async status(): Promise<WorkerStatus & { info: BackendInfo }> {
    const res = await this.call(this.stub.Capacity.bind(this.stub) as Call<object, { info: unknown; live: number; queued: number; busy_s: number }>, {}, 3_000);
    const info = infoFromProto(res.info as Parameters<typeof infoFromProto>[0]);
    if (!info) throw new WorkerLostError(this.id, 'reports no backend');
    return { info, live: res.live, queued: res.queued, busySeconds: Number(res.busy_s), batches: 0, steps: 0 };
  }

  async take(job: string, specs: readonly TakeSpec[]): Promise<void> {
    await this.call(this.stub.Take.bind(this.stub) as Call<object, unknown>, { job, candidates: specs.map((s) => ({ prompt: s.prompt, candidate: s.candidate, seed: s.seed, text: s.text })) });
  }

  async advance(job: string, toStep: number, refs: readonly CandidateRef[], rewards: readonly RewardSpec[]): Promise<void> {
    await this.call(this.stub.Advance.bind(this.stub) as Call<object, unknown>, {
      job,
      to_step: toStep,
      candidates: refs,
      rewards: rewards.map((r) => ({ name: r.name, noise_aware: r.noiseAware })),
    });
  }

  async release(job: string, refs: readonly CandidateRef[] = []): Promise<void> {
    await this.call(this.stub.Release.bind(this.stub) as Call<object, unknown>, { job, candidates: refs });
  }

  async exportLatent(job: string, ref: CandidateRef, release: boolean): Promise<{ state: Uint8Array; step: number }> {
    const res = await this.call(this.stub.ExportLatent.bind(this.stub) as Call<object, { state: Buffer; step: number }>, { job, candidate: ref, release });
    return { state: new Uint8Array(res.state.buffer, res.state.byteOffset, res.state.byteLength), step: res.step };
  }

  async importLatent(job: string, ref: CandidateRef, state: Uint8Array): Promise<number> {
    const res = await this.call(this.stub.ImportLatent.bind(this.stub) as Call<object, { step: number }>, { job, candidate: ref, state: Buffer.from(state.buffer, state.byteOffset, state.byteLength) });
    return res.step;
  }

  async render(job: string, ref: CandidateRef): Promise<Uint8Array> {
    const res = await this.call(this.stub.Render.bind(this.stub) as Call<object, { png: Buffer }>, { job, candidate: ref });
    return new Uint8Array(res.png);
  }

  close(): void {
    this.stub.close();
  }

  private call<Req, Res>(fn: Call<Req, Res>, req: Req, deadlineMs = this.deadlineMs): Promise<Res> {
    return new Promise((resolve, reject) => {
      fn(req, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (!err) return resolve(res as Res);
        const name = errorName(err);
        if (name === 'WorkerDrainingError') reject(new WorkerDrainingRefusal(this.id, err.details, { cause: err }));
        else if (err.code === grpc.status.NOT_FOUND) reject(new CandidateMissingError(err.details, { cause: err }));
        else if (LOST.has(err.code)) reject(new WorkerLostError(this.id, `${grpc.status[err.code]}: ${err.details}`, { cause: err }));
        else reject(new Error(`worker ${this.id}: ${grpc.status[err.code]}: ${err.details}`, { cause: err }));
      });
    });
  }
}
