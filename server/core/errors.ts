/**
 * The one error type of Pinhole's domain. `code` is stable and maps to exactly one gRPC status in
 * server/rpc/status.ts; `message` is for people and names the field, what was wrong and what is accepted.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT', // the request is malformed: permanent, fix the request
  'PERMISSION_DENIED', // the caller may not do this: permanent
  'UNAUTHENTICATED', // no usable identity
  'NOT_FOUND', // no such lease / pending request
  'ALREADY_EXISTS', // a conflicting record exists
  'FAILED_PRECONDITION', // the object is in the wrong state (e.g. lease ended)
  'RESOURCE_EXHAUSTED', // quota or rate limit: transient, retry after retryAfterMs
  'UNAVAILABLE', // store or dependency down: transient, retry after retryAfterMs
  'DEADLINE_EXCEEDED',
  'CANCELLED',
  'INTERNAL', // a bug; the cause goes to the log, never to the client
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface PinholeErrorOptions {
  /** Field path the error is about, e.g. `openings[0].ports.from`. */
  readonly field?: string;
  /** For transient errors: how long the caller should wait before retrying. */
  readonly retryAfterMs?: number;
  readonly cause?: unknown;
}

export class PinholeError extends Error {
  override readonly name = 'PinholeError';
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: PinholeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Transient errors are worth retrying unchanged; permanent ones are not. */
  get transient(): boolean {
    return (
      this.code === 'UNAVAILABLE' || this.code === 'RESOURCE_EXHAUSTED' || this.code === 'DEADLINE_EXCEEDED'
    );
  }
}

/** `field: message` as INVALID_ARGUMENT. */
export function invalid(field: string, message: string): PinholeError {
  return new PinholeError('INVALID_ARGUMENT', `${field}: ${message}`, { field });
}

export function isPinholeError(e: unknown): e is PinholeError {
  return e instanceof PinholeError;
}
