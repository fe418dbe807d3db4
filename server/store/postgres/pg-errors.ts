/**
 * Every failure of the database becomes one PinholeError UNAVAILABLE with a retry hint, so the
 * engine and the RPC layer see a single kind of store failure, whatever the driver threw.
 */
import { PinholeError } from '../../core/errors.js';

/** How long clients are told to wait before retrying a request the database could not serve. */
export const RETRY_AFTER_MS = 1000;

/** SQLSTATEs that mean "no usable connection": class 08, shutdowns, startup, too many connections. */
const CONNECTION_STATES = /^(08|57P0[1-3]|53300)/;
/** Node socket errors and the driver's own connection messages. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const CONNECTION_MESSAGES =
  /connection terminated|not queryable|timeout exceeded when trying to connect|connection timeout|query read timeout|cannot use a pool after calling end|client was closed/i;

function codeOf(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return '';
}

/** The first useful line of a driver error; AggregateError (IPv4 + IPv6 refused) has an empty message. */
export function describeDbError(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return describeDbError(e.errors[0]);
  if (e instanceof Error) {
    const code = codeOf(e);
    const message = e.message.split('\n')[0] ?? '';
    if (message === '') return code === '' ? e.name : code;
    return code !== '' && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(e);
}

/** True when the error says the database cannot be reached (rather than that it refused a statement). */
export function isConnectionError(e: unknown): boolean {
  if (e instanceof AggregateError) return e.errors.some(isConnectionError);
  const code = codeOf(e);
  if (CONNECTION_STATES.test(code) || CONNECTION_CODES.has(code)) return true;
  return e instanceof Error && CONNECTION_MESSAGES.test(e.message);
}

/**
 * `doing` says what was lost, e.g. "the change may or may not have been saved; retry with the same request id".
 * An error that is already a PinholeError passes through unchanged.
 */
export function dbUnavailable(e: unknown, doing: string): PinholeError {
  if (e instanceof PinholeError) return e;
  const what = isConnectionError(e) ? 'the database is unreachable' : 'the database failed';
  return new PinholeError('UNAVAILABLE', `${what}: ${describeDbError(e)}; ${doing}`, {
    retryAfterMs: RETRY_AFTER_MS,
    cause: e,
  });
}
