/**
 * When to renew and when to retry. Pure functions of the clock (plus `sleep`), so the schedule is
 * tested without a server.
 *
 * The renewal schedule follows RFC 6887 §11.2.1 (PCP): renew at a random point between 1/2 and
 * 5/8 of the term, retry at 3/4 and 7/8, and never send two attempts less than 4 s apart. A term
 * of a few seconds (tests, short-lived openings) would leave no room for a 4 s gap, so the gap is
 * `min(4 s, remaining / 8)` with a 25 ms floor: the same shape scaled to the time that is left.
 * After the 7/8 point, attempts halve the remaining time (bisection towards expiry), each still
 * respecting the gap and the server's `pinhole-retry-after-ms`.
 */
import { PinholeClientError } from './errors.js';

/** One term of a lease on the local clock. `startMs` is when the request that began it was sent. */
export interface Term {
  readonly startMs: number;
  readonly lifetimeMs: number;
}

/** Local time at which the term ends. Conservative: the server started its clock after `startMs`. */
export function termEndMs(t: Term): number {
  return t.startMs + t.lifetimeMs;
}

/** How long before the end of the term a call's answer must arrive: min(1 s, 1/10 of the term). */
export function marginMs(t: Term): number {
  return Math.min(1000, t.lifetimeMs / 10);
}

/** The shortest call worth starting: min(250 ms, 1/20 of the term). */
export function minCallMs(t: Term): number {
  return Math.min(250, t.lifetimeMs / 20);
}

/** The RFC 6887 4-second gap, scaled down for short remainders: min(4 s, remaining / 8), at least 25 ms. */
export function retryGapMs(remainingMs: number): number {
  return Math.max(25, Math.min(4000, remainingMs / 8));
}

/** First renewal: a random point between 1/2 and 5/8 of the term. `random` is in [0, 1). */
export function firstRenewalAt(t: Term, random: number): number {
  return t.startMs + t.lifetimeMs * (0.5 + 0.125 * random);
}

/**
 * When to try again after `failures` failed renewal attempts (1 = the first failed), or
 * `undefined` when no attempt can finish before the end of the term (the lease is about to be lost).
 */
export function renewalRetryAt(
  t: Term,
  failures: number,
  nowMs: number,
  retryAfterMs = 0,
): number | undefined {
  const end = termEndMs(t);
  const lastStart = end - marginMs(t) - minCallMs(t);
  if (lastStart <= nowMs) return undefined;
  const remaining = end - nowMs;
  const planned =
    failures === 1
      ? t.startMs + t.lifetimeMs * 0.75
      : failures === 2
        ? t.startMs + t.lifetimeMs * 0.875
        : nowMs + remaining / 2;
  const at = Math.max(planned, nowMs + retryGapMs(remaining), nowMs + retryAfterMs);
  // The last useful moment wins over the gap and the server's hint: a late try beats a lost lease.
  return Math.min(at, lastStart);
}

/** The deadline (local ms) of a renewal call started at `nowMs`: its answer must leave the margin intact. */
export function renewalDeadline(t: Term, nowMs: number, callTimeoutMs: number): number {
  return Math.min(nowMs + callTimeoutMs, termEndMs(t) - marginMs(t));
}

/**
 * Exponential backoff with jitter for re-opening and for `open()`'s retries: `baseMs * 2^(attempt-1)`
 * capped at `maxMs`, then scaled by a random factor in [0.5, 1); never below the server's hint.
 */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: number,
  retryAfterMs = 0,
): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(exp * (0.5 + random / 2), retryAfterMs);
}

/** The error an aborted signal stands for: its reason when that is a client error, else CANCELLED. */
export function abortError(signal: AbortSignal, what = 'the operation'): PinholeClientError {
  const reason: unknown = signal.reason;
  if (reason instanceof PinholeClientError) return reason;
  return new PinholeClientError('CANCELLED', `${what} was cancelled`, { cause: reason, retryable: false });
}

/**
 * Resolves after `ms`, or rejects with {@link abortError} when `signal` aborts first. A wait that
 * someone awaits keeps the process alive like any timer; background waits (the renewal loop)
 * pass `background: true` for an unref'd timer, so an idle opening never holds the process open.
 */
export function sleep(ms: number, signal?: AbortSignal, background = false): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortError(signal));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortError(signal as AbortSignal));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    if (background) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
