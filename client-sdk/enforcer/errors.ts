/**
 * Errors of the enforcer backends. client-sdk must not import server/, so this mirrors the server's
 * `PinholeError` shape: a stable `code`, a message for people, and the `cause` kept for logs.
 */

/** Stable error codes of the enforcer backends. */
export type EnforcerErrorCode =
  | 'INVALID_LEASE' // a lease or rule the backend cannot express; permanent, fix the input
  | 'INVALID_CONFIG' // an enforcer option is malformed
  | 'APPLY_FAILED' // the firewall rejected a transaction; nothing of it took effect
  | 'LIST_FAILED' // the firewall state could not be read or parsed
  | 'COMMAND_FAILED' // an external program could not be run or exited non-zero
  | 'CLOSED'; // the enforcer was closed

/** The one error type thrown by enforcers. */
export class EnforcerError extends Error {
  override readonly name = 'EnforcerError';
  /** Stable; the message may change. */
  readonly code: EnforcerErrorCode;

  constructor(code: EnforcerErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** Narrows `e` to an `EnforcerError`. */
export function isEnforcerError(e: unknown): e is EnforcerError {
  return e instanceof EnforcerError;
}
