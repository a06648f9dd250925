/** A source of time in milliseconds; tests pass a fake one so that time limits are exact and instant. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

/**
 * A point in time that the search checks between evaluations (it never interrupts one). A deadline may
 * keep back a reserve that changes as the run learns its speed (the tuner keeps back the time its
 * validation will take), and deadlines made by `within` also end when their parent does.
 */
export class Deadline {
  private constructor(
    private readonly clock: Clock,
    /** the nominal end (before any reserve), in clock milliseconds */
    readonly at: number,
    private readonly reserve: () => number,
    private readonly parent: Deadline | null,
  ) {}

  /** `ms` from now, less `reserve()` ms (read at every check). */
  static after(clock: Clock, ms: number, reserve: () => number = () => 0): Deadline {
    return new Deadline(clock, clock.now() + ms, reserve, null);
  }

  /** Milliseconds left (never negative). */
  remaining(): number {
    const own = this.at - this.reserve() - this.clock.now();
    return Math.max(0, this.parent ? Math.min(own, this.parent.remaining()) : own);
  }

  passed(): boolean {
    return this.remaining() <= 0;
  }

  /** An earlier deadline: `ms` from now, and never after this one. */
  within(ms: number): Deadline {
    return new Deadline(this.clock, this.clock.now() + ms, () => 0, this);
  }
}
