import { TtsnapError, type GrpcStatusName } from '../errors.js';

/** A caller asked for more than its share (gRPC RESOURCE_EXHAUSTED). */
export class QuotaExceededError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'RESOURCE_EXHAUSTED';
}

/** Default of --max-jobs-per-client: concurrent jobs, and separately concurrent watchers, per identity. */
export const DEFAULT_MAX_JOBS_PER_CLIENT = 100;

/**
 * Concurrent slots per caller identity (jobs running, or streams open). Without TLS every caller is the one
 * anonymous identity, so the limit is then global. acquire() returns an idempotent release.
 */
export class CallerQuota {
  private readonly held = new Map<string, number>();

  constructor(
    private readonly max: number,
    /** what a slot is, for the message: 'running jobs', 'open watchers' */
    private readonly what: string,
  ) {}

  acquire(caller: string): () => void {
    const n = this.held.get(caller) ?? 0;
    if (n >= this.max) throw new QuotaExceededError(`${caller} has ${n} ${this.what}; allowed: at most ${this.max} per client (--max-jobs-per-client)`);
    this.held.set(caller, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(caller) ?? 1) - 1;
      if (left > 0) this.held.set(caller, left);
      else this.held.delete(caller);
    };
  }

  count(caller: string): number {
    return this.held.get(caller) ?? 0;
  }
}
