import type { status } from '@grpc/grpc-js';

/** A gRPC status code by name (type only: the kernel loads no transport; the gRPC edge maps names to codes). */
export type GrpcStatusName = keyof typeof status;

/**
 * One error class per meaning. Edges (CLI, gRPC, NATS) translate these once: each class carries the gRPC
 * status it becomes (a ValidationError becomes exit code 2 / INVALID_ARGUMENT, anything unclassed INTERNAL).
 */
export class TtsnapError extends Error {
  /** what the gRPC edge answers when this error ends a call */
  readonly grpcStatus: GrpcStatusName = 'INTERNAL';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input: names the field (flag, request field, file) and what is allowed. */
export class ValidationError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'INVALID_ARGUMENT';
  readonly field: string;
  readonly allowed: string;
  constructor(field: string, problem: string, allowed: string, options?: { cause?: unknown }) {
    super(`${field}: ${problem}; allowed: ${allowed}`, options);
    this.field = field;
    this.allowed = allowed;
  }
}

/** A file that exists but is not what it should be (corrupt .npy, wrong ONNX inputs, bad manifest). */
export class BadFileError extends TtsnapError {
  override readonly grpcStatus: GrpcStatusName = 'INVALID_ARGUMENT';
  readonly file: string;
  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.file = file;
  }
}

/**
 * A call to another process that failed. `reach` says how: `refused` (TLS or authorisation: retrying cannot
 * help), `unreachable` (the peer is away or going away: worth reconnecting), or `answered` (it replied with an
 * error). Exit codes and retry loops read `reach`, not transport codes, so they need no transport library.
 */
export class CallError extends TtsnapError {
  constructor(
    message: string,
    readonly reach: 'refused' | 'unreachable' | 'answered',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The budget cannot pay for one candidate under the schedule. */
export class BudgetTooSmallError extends ValidationError {
  readonly minimum: number;
  constructor(field: string, budget: number, minimum: number) {
    super(field, `budget ${budget} is below the cost of one candidate`, `>= ${formatNumber(minimum)}`);
    this.minimum = minimum;
  }
}

export function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(4).replace(/0+$/, '');
}
