import * as grpc from '@grpc/grpc-js';
import type { JobEvent } from '../core/generated/ttsnap/v1/JobEvent.js';
import type { WatchJobRequest__Output } from '../core/generated/ttsnap/v1/WatchJobRequest.js';
import { toServiceError } from '../core/grpc/status.js';
import { GridBuffer } from '../core/grid-buffer.js';
import { LINGER_GRID_MS } from '../core/grid-delay.js';
import type { MetricsSink } from '../core/metrics/sink.js';
import { callerOf } from '../core/security/authorizer.js';
import { QuotaExceededError, type CallerQuota } from '../core/security/quota.js';
import { jobField } from '../core/security/requests.js';
import type { Coordinator } from './coordinator.js';
import { CoordinatorUnavailableError } from './errors.js';

/** Events a watcher may leave unread before its stream is ended (RESOURCE_EXHAUSTED): a slow reader costs bounded memory. */
export const MAX_UNREAD_EVENTS = 100_000;

export interface WatchDeps {
  readonly coord: Coordinator;
  readonly metrics: MetricsSink;
  /** open watchers per caller */
  readonly watchers: CallerQuota;
}

/**
 * The messages of events written together, each with how many events it holds: WatchJob's one an event,
 * WatchJobBatches' several (event-batches.ts).
 */
export type EventMessages<M> = (events: readonly JobEvent[]) => Iterable<readonly [M, number]>;

/**
 * A handler of a watch call, WatchJob or WatchJobBatches (`method`), which differ only in their messages: a job's
 * events from `after_seq` on, replayed then followed until its done event. Events are held until the next point
 * of the linger grid (at most 50 ms, below what a person watching progress notices) and written in one turn.
 */
export function watchHandler<M>(deps: WatchDeps, method: string, messages: EventMessages<M>): (call: grpc.ServerWritableStream<WatchJobRequest__Output, M>) => void {
  const { coord, metrics, watchers } = deps;
  return (call) => {
    const fail = (err: unknown): void => {
      const se = toServiceError(err);
      metrics.inc('grpcErrors', { method, code: grpc.status[se.code ?? grpc.status.UNKNOWN] ?? 'UNKNOWN' });
      call.emit('error', se);
    };
    let stop = (): void => {};
    let release = (): void => {};
    /** events in messages the stream has not taken yet */
    let unwritten = 0;
    const write = (events: readonly JobEvent[]): void => {
      for (const [message, n] of messages(events)) {
        unwritten += n;
        call.write(message, () => void (unwritten -= n));
      }
    };
    const writer = new GridBuffer<JobEvent>(write, LINGER_GRID_MS, 1);
    try {
      release = watchers.acquire(callerOf(call.metadata).name);
      const id = jobField(call.request.job);
      if (!coord.follows(id)) {
        // ended before this coordinator started: its done event, from the stored result
        void coord.storedDone(id).then(
          (done) => {
            release();
            write([done]);
            call.end();
          },
          (err: unknown) => {
            release();
            fail(err);
          },
        );
        return;
      }
      stop = coord.watch(id, (e) => {
        const unread = unwritten + writer.holding;
        if (unread > MAX_UNREAD_EVENTS) {
          stop();
          release();
          writer.close();
          fail(new QuotaExceededError(`the watcher left ${unread} events unread; allowed: at most ${MAX_UNREAD_EVENTS} (read faster, or watch again later)`));
          return;
        }
        writer.push(e, e.event === 'done');
        if (e.event === 'done') call.end();
      }, call.request.after_seq, () => {
        release();
        writer.flush();
        fail(new CoordinatorUnavailableError(`the coordinator is shutting down; job ${call.request.job} continues when a coordinator starts on the same NATS (watch it again there)`));
      });
    } catch (err) {
      release();
      fail(err);
      return;
    }
    const end = (): void => {
      stop();
      release();
      writer.close();
    };
    call.on('cancelled', end);
    call.on('close', end);
    call.on('finish', end);
  };
}
