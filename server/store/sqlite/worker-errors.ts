/**
 * Errors across the SQLite worker's thread boundary. A structured clone keeps an Error's message
 * and stack but drops its class and own properties, so a PinholeError would arrive as a plain
 * Error without `code` or `retryAfterMs` and the rpc layer would answer INTERNAL. Errors cross as
 * data instead and are rebuilt on the other side with the same class and fields.
 */
import { ERROR_CODES, PinholeError, isPinholeError, type ErrorCode } from '../../core/errors.js';
import { isPruneRefusal, markPruneRefusal } from '../../audit/prune.js';

/** An error as data: what a log needs of any error, and every field of a PinholeError. */
export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** A string `code` of a non-Pinhole error (SqliteError's `SQLITE_BUSY`, a Node `ERR_…`). */
  readonly errno?: string;
  readonly pinhole?: {
    readonly code: ErrorCode;
    readonly field?: string;
    readonly retryAfterMs?: number;
    /** isPruneRefusal held: the audit retention stops instead of retrying (server/audit/retention.ts). */
    readonly pruneRefusal: boolean;
  };
  readonly cause?: WireError;
}

/** Causes are followed this deep, as isPruneRefusal follows them. */
const MAX_CAUSES = 8;

export function encodeError(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const errno: unknown = (error as { code?: unknown }).code;
  const cause =
    error.cause === undefined || depth >= MAX_CAUSES ? undefined : encodeError(error.cause, depth + 1);
  return {
    name: error.name,
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
    ...(isPinholeError(error)
      ? {
          pinhole: {
            code: error.code,
            ...(error.field === undefined ? {} : { field: error.field }),
            ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
            pruneRefusal: isPruneRefusal(error),
          },
        }
      : typeof errno === 'string'
        ? { errno }
        : {}),
    ...(cause === undefined ? {} : { cause }),
  };
}

/** The error `encodeError` saw: a PinholeError as one, anything else as an Error with its name and code. */
export function decodeError(wire: WireError): Error {
  const cause = wire.cause === undefined ? undefined : decodeError(wire.cause);
  const p = wire.pinhole;
  let error: Error;
  if (p !== undefined && (ERROR_CODES as readonly string[]).includes(p.code)) {
    error = new PinholeError(p.code, wire.message, {
      ...(p.field === undefined ? {} : { field: p.field }),
      ...(p.retryAfterMs === undefined ? {} : { retryAfterMs: p.retryAfterMs }),
      ...(cause === undefined ? {} : { cause }),
    });
    if (p.pruneRefusal) markPruneRefusal(error);
  } else {
    error = new Error(wire.message, cause === undefined ? undefined : { cause });
    // PinholeError's name is a class field; a plain Error takes the original's for the log.
    Object.defineProperty(error, 'name', { value: wire.name, configurable: true, writable: true });
    if (wire.errno !== undefined) Object.assign(error, { code: wire.errno });
  }
  // The worker's stack says where it failed; the rebuilt error's would only name this module.
  if (wire.stack !== undefined) error.stack = wire.stack;
  return error;
}

/** Calls differ only in SqliteStore's words for their failures. */
export type CallKind = 'commit' | 'read' | 'prune';

/** SqliteStore's UNAVAILABLE messages: for a failure of its own, and for a call after close. */
export const WORDS: Record<CallKind, { readonly failed: string; readonly closed: string }> = {
  commit: {
    failed: 'the store could not record this change; retry later',
    closed: 'the store is shutting down; retry on another server',
  },
  read: {
    failed: 'the store could not be read; retry later',
    closed: 'the store is closed; retry later or on another server',
  },
  prune: {
    failed: 'the store could not prune the request log; retry later',
    closed: 'the store is shutting down; nothing was pruned, retry later',
  },
};

/** A call after close(): SqliteStore's refusal for its kind. */
export function closedError(kind: CallKind): PinholeError {
  return new PinholeError('UNAVAILABLE', WORDS[kind].closed, { retryAfterMs: 1000 });
}

/**
 * A call's failure as callers see it: a PinholeError as it was thrown, anything else as the
 * store's UNAVAILABLE for its own failures (SqliteStore's wording and retry-after; the cause kept
 * for the log, never for the client).
 */
export function callError(wire: WireError, kind: CallKind): PinholeError {
  const error = decodeError(wire);
  return isPinholeError(error)
    ? error
    : new PinholeError('UNAVAILABLE', WORDS[kind].failed, { retryAfterMs: 1000, cause: error });
}
