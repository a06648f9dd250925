import * as grpc from '@grpc/grpc-js';
import type { WorkerBatchOutcome } from '../core/generated/ttsnap/v1/WorkerBatchOutcome.js';
import type { WorkerBatchResponse } from '../core/generated/ttsnap/v1/WorkerBatchResponse.js';
import { gridDelay } from '../core/grid-delay.js';

/**
 * ms a Batch request whose ops all succeeded waits to be acknowledged together with the requests after it (when
 * the coordinator asks for failures only). Each answer cost the coordinator about as much as the request it
 * answers; nothing waits on a success but the coordinator's deadline (30 s), while a failure goes at once.
 */
export const ACK_LINGER_MS = 1_000;
/** Acknowledgements go out on this grid of the wall clock (gridDelay): every worker's arrive at the coordinator together. */
export const ACK_GRID_MS = 250;

/**
 * The answers of one Batch stream. A request is answered at once unless it asked for failures only and all its
 * ops succeeded; those are acknowledged by answering the last of them after ACK_LINGER_MS (up to ACK_GRID_MS
 * more, to the grid), or with the next
 * answer sent (an answer also answers every earlier request still unanswered).
 */
export class BatchAnswers {
  /** the last succeeded request not yet acknowledged */
  private pending: WorkerBatchResponse | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly write: (res: WorkerBatchResponse) => void) {}

  answer(id: number, outcomes: WorkerBatchOutcome[], failuresOnly: boolean): void {
    if (failuresOnly && outcomes.every((o) => o.code === grpc.status.OK)) {
      this.pending = { id, outcomes };
      this.timer ??= setTimeout(() => this.flush(), gridDelay(ACK_LINGER_MS, ACK_GRID_MS));
      return;
    }
    this.clear();
    this.write({ id, outcomes });
  }

  /**
   * A sign of life instead of a RegisterWorker heartbeat: the pending acknowledgement, sent now, or else a
   * keepalive (id 0, no outcomes) carrying the busy seconds a heartbeat would have. Every keepalive says that
   * this worker reads grouped candidates (the first goes as the stream opens: the coordinator groups from then on).
   */
  keepalive(busySeconds: number): void {
    if (this.pending) return this.flush();
    this.write({ id: 0, outcomes: [], busy_s: busySeconds, grouped: true });
  }

  /** Sends the pending acknowledgement now (the stream ends). */
  flush(): void {
    const p = this.pending;
    this.clear();
    if (p) this.write(p);
  }

  /** Forgets the pending acknowledgement (the coordinator went away: nobody to answer). */
  stop(): void {
    this.clear();
  }

  private clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
