import { gridDelay } from './grid-delay.js';

/**
 * Holds items until the next point of a grid of the wall clock (at least `minMs` on; gridDelay) and then sends
 * every held one together, in order: a watcher's events in one turn of the event loop, a worker's scores in one
 * message that reaches the coordinator with the other workers'. With
 * gridMs 0 items go at once. `push(item, true)` sends at once, after what is held (a watch's done event);
 * `pushSoon` on the next turn of the event loop, with what is held then (a worker client's calls: the releases
 * held for the grid ride with them). Any send cancels the timer: it never sends later items early and alone.
 * `pushAll(items, false, gridMs)` holds items on another grid than the default (a busy worker's scores on a
 * coarser one; grids that are multiples of each other): whatever is held goes at the earliest point any push
 * asked for.
 */
export class GridBuffer<T> {
  private held: T[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** the grid the timer was set on, and when it fires (Date.now() ms) */
  private timerGridMs = 0;
  private due = 0;
  private soon = false;

  constructor(
    private readonly send: (items: readonly T[]) => void,
    private readonly gridMs: number,
    private readonly minMs = 0,
  ) {}

  /** items held, not yet sent */
  get holding(): number {
    return this.held.length;
  }

  push(item: T, now = false): void {
    this.pushAll([item], now);
  }

  pushAll(items: readonly T[], now = false, gridMs = this.gridMs): void {
    for (const it of items) this.held.push(it);
    if (now || gridMs <= 0) return this.flush();
    // a timer set on this grid or a finer one fires no later than this grid's next point would
    if (this.timer && this.timerGridMs <= gridMs) return;
    const t = Date.now();
    const due = t + gridDelay(this.minMs, gridMs, t);
    if (this.timer && this.due <= due) return;
    this.cancelTimer();
    this.timerGridMs = gridMs;
    this.due = due;
    this.timer = setTimeout(() => this.flush(), due - t);
  }

  /** Holds `item` and sends it, with everything held then, on the next turn of the event loop. */
  pushSoon(item: T): void {
    this.held.push(item);
    if (this.soon) return;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      this.flush();
    });
  }

  /** Sends everything held now, in order. */
  flush(): void {
    this.cancelTimer();
    const out = this.held;
    this.held = [];
    if (out.length > 0) this.send(out);
  }

  /** Drops what is held (its stream ended) and returns it: nothing is sent later. */
  close(): T[] {
    this.cancelTimer();
    const dropped = this.held;
    this.held = [];
    return dropped;
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
