import { gridDelay, LINGER_GRID_MS } from '../core/grid-delay.js';

/**
 * How long a watcher's events wait for others to go with them, at most: below what a person watching progress
 * notices. They go at the next point of the coordinator's linger grid (gridDelay), with its other timers.
 */
export const WATCH_LINGER_MS = LINGER_GRID_MS;

/**
 * Writes a job's events to one watcher in bursts. An event is held until the next multiple of `lingerMs` of the
 * wall clock (at most lingerMs) and then written with every other held one in the same turn of the event loop,
 * where HTTP/2 sends them in one socket write. Written one by one as they happened, a large job's events (one or
 * more per prompt and stage) were a third of the coordinator's socket writes, and on loopback each write also
 * pays the receiver's TCP processing. `push(e, true)` writes at once, after what is held (the done event).
 */
export class WatchWriter<T> {
  private held: T[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly write: (event: T) => void,
    private readonly lingerMs = WATCH_LINGER_MS,
  ) {}

  /** events held, not yet handed to the stream */
  get holding(): number {
    return this.held.length;
  }

  push(event: T, now = false): void {
    this.held.push(event);
    if (now) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), gridDelay(1, this.lingerMs));
  }

  /** Writes everything held, in order. */
  flush(): void {
    this.cancelTimer();
    const out = this.held;
    this.held = [];
    for (const e of out) this.write(e);
  }

  /** Drops what is held: the stream ended. */
  close(): void {
    this.cancelTimer();
    this.held = [];
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
