/** A source of time in milliseconds; tests pass a fake one so that time limits are exact and instant. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => performance.now() };

/** A point in time that the search checks between evaluations (it never interrupts one). */
export class Deadline {
  constructor(
    private readonly clock: Clock,
    readonly at: number,
  ) {}

  static after(clock: Clock, ms: number): Deadline {
    return new Deadline(clock, clock.now() + ms);
  }

  /** Milliseconds left (never negative). */
  remaining(): number {
    return Math.max(0, this.at - this.clock.now());
  }

  passed(): boolean {
    return this.clock.now() >= this.at;
  }

  /** An earlier deadline: `ms` from now, but never after this one. */
  within(ms: number): Deadline {
    return new Deadline(this.clock, Math.min(this.at, this.clock.now() + ms));
  }
}
