import { statSync } from 'node:fs';

/** A fingerprint of files (inode, size, mtime; '-' for an absent path, 'missing' for one that cannot be stat()ed). */
export function fileStamp(paths: readonly (string | null)[]): string {
  return paths
    .map((p) => {
      if (!p) return '-';
      try {
        const s = statSync(p);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return 'missing';
      }
    })
    .join('|');
}

/**
 * A value read from files that an operator or cert-manager replaces in place (certificates, the client tokens
 * file). The files are stat()ed every `refreshMs`; a change is read and applied only when `read` succeeds, so a
 * file caught half-written keeps the previous value (and `onError` says why) until a later look succeeds. The
 * first read happens in the constructor, so a bad file fails the process at start.
 */
export class ReloadingFiles<T> {
  private value: T;
  private seen: string;
  private reloadCount = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly paths: readonly (string | null)[],
    private readonly read: () => T,
    refreshMs: number,
    private readonly onError: (err: unknown) => void = () => {},
    private readonly onChange: (value: T) => void = () => {},
  ) {
    this.seen = fileStamp(paths);
    this.value = read();
    this.timer = setInterval(() => this.check(), refreshMs).unref();
  }

  /** The value in use now. */
  get current(): T {
    return this.value;
  }

  /** How many times a changed set of files was applied since start. */
  get reloads(): number {
    return this.reloadCount;
  }

  /** Looks at the files now (the timer calls this; tests may too). */
  check(): void {
    const now = fileStamp(this.paths);
    if (now === this.seen) return;
    try {
      this.value = this.read();
      this.seen = now;
      this.reloadCount += 1;
      this.onChange(this.value);
    } catch (err) {
      // keep the previous value; the next tick looks again (the writer may not be done)
      this.onError(err);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
