/**
 * The calls an Opening makes besides Renew, as functions of its context: Open again (waiting for
 * an approval if needed), Release with bounded retries, and the small lease arithmetic it shares.
 */
import type { OpenResponse__Output } from '../proto/gen/pinhole/v1/OpenResponse.js';
import { PinholeClientError, toClientError } from './errors.js';
import { toOpenRequest, type Intent } from './open-options.js';
import { awaitDecision } from './pending.js';
import { backoffMs, sleep, type Term } from './timing.js';
import type { Transport } from './transport.js';
import type { ClientLogger, Decision, LeaseInfo, Narrowing } from './types.js';

/** What an Opening needs from its client. Internal. */
export interface OpeningContext {
  readonly transport: Transport;
  readonly log: ClientLogger;
  readonly callTimeoutMs: number;
  readonly maxRetryDelayMs: number;
  readonly pollMs: number;
  readonly closeTimeoutMs: number;
  readonly random: () => number;
  /** Called once the opening is closed, so the client forgets it. */
  readonly forget: (opening: object) => void;
}

/** A re-open that is waiting for an administrator waits at most this long before asking again. */
const REOPEN_PENDING_WAIT_MS = 3_600_000;

/** One Open of `intent` under `requestId`; a PENDING answer is waited out (WaitDecision). */
export async function openAgain(
  ctx: OpeningContext,
  intent: Intent,
  requestId: string,
  signal: AbortSignal,
): Promise<OpenResponse__Output> {
  const res = await ctx.transport.unary('Open', toOpenRequest(intent, requestId), {
    deadlineMs: Date.now() + ctx.callTimeoutMs,
    signal,
  });
  if (res.decision?.outcome !== 'PENDING') return res;
  ctx.log.info({ pendingId: res.pendingId }, 're-open needs an administrator’s approval; waiting');
  return awaitDecision(ctx.transport, {
    pendingId: res.pendingId,
    requestId,
    deadlineMs: Date.now() + REOPEN_PENDING_WAIT_MS,
    signal,
    pollMs: ctx.pollMs,
    maxRetryDelayMs: ctx.maxRetryDelayMs,
    log: ctx.log,
    background: true,
  });
}

/**
 * Releases a lease, retrying transient failures until `closeTimeoutMs`. Never rejects: a lease
 * that could not be released ends at its expiry, which is logged.
 */
export async function releaseLease(ctx: OpeningContext, leaseId: string): Promise<void> {
  const deadline = Date.now() + ctx.closeTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await ctx.transport.unary(
        'Release',
        { leaseId },
        { deadlineMs: Math.min(deadline, Date.now() + ctx.callTimeoutMs) },
      );
      ctx.log.info({ leaseId }, 'lease released');
      return;
    } catch (e) {
      const err = toClientError(e, 'Release');
      if (err.code === 'NOT_FOUND') return; // already gone: nothing to release
      const wait = backoffMs(attempt, 100, 1000, ctx.random(), err.retryAfterMs);
      if (!err.retryable || Date.now() + wait >= deadline) {
        ctx.log.warn(
          { leaseId, code: err.code, error: err.message },
          'could not release the lease; it ends at its expiry',
        );
        return;
      }
      await sleep(wait);
    }
  }
}

/** The term a lease's answer starts, on the local clock (see timing.ts). */
export function termOf(lease: LeaseInfo, sentAtMs: number): Term {
  const began = lease.renewedAtMs > 0 ? lease.renewedAtMs : lease.grantedAtMs;
  const lifetimeMs = lease.expiresAtMs - began;
  return { startMs: sentAtMs, lifetimeMs: lifetimeMs > 0 ? lifetimeMs : lease.ttlSeconds * 1000 };
}

/** What `now` grants less of than `before`: fewer rules, or a shorter term. */
export function narrowingsBetween(before: LeaseInfo, now: LeaseInfo, intent: Intent): Narrowing[] {
  const out: Narrowing[] = [];
  if (now.ttlSeconds < before.ttlSeconds) {
    out.push({
      openingIndex: 0,
      field: 'ttl',
      requested: `${intent.ttlSeconds === 0 ? before.ttlSeconds : intent.ttlSeconds}s`,
      granted: `${now.ttlSeconds}s`,
      ruleId: now.ruleId,
      reason: `the server granted a ${now.ttlSeconds}s term where the previous one was ${before.ttlSeconds}s`,
    });
  }
  if (now.rules.length < before.rules.length) {
    out.push({
      openingIndex: 0,
      field: 'rules',
      requested: `${before.rules.length} rules`,
      granted: `${now.rules.length} rules`,
      ruleId: now.ruleId,
      reason: 'policy now grants fewer concrete rules than before',
    });
  }
  return out;
}

/** The DENIED error for a decision. */
export function deniedError(decision: Decision): PinholeClientError {
  const would = decision.wouldAllow === '' ? '' : `; policy would allow: ${decision.wouldAllow}`;
  return new PinholeClientError('DENIED', `denied by rule ${decision.ruleId}: ${decision.reason}${would}`, {
    decision,
    retryable: false,
  });
}
