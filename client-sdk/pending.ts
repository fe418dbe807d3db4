/**
 * Waiting for an administrator's decision on a PENDING request: WaitDecision, resubscribed after
 * transient failures until a deadline. A server without WaitDecision (UNIMPLEMENTED) is polled
 * instead: an approval shows up in ListMine as a lease carrying the request's id; a denial cannot
 * be seen that way, so it ends in DEADLINE_EXCEEDED.
 */
import type { OpenResponse__Output } from '../proto/gen/pinhole/v1/OpenResponse.js';
import { PinholeClientError } from './errors.js';
import { abortError, backoffMs, sleep } from './timing.js';
import type { Transport } from './transport.js';
import type { ClientLogger } from './types.js';

/** How to wait for a decision. */
export interface AwaitDecisionOptions {
  readonly pendingId: string;
  readonly requestId: string;
  /** Absolute deadline, local ms. */
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  /** ListMine poll interval when the server has no WaitDecision. */
  readonly pollMs: number;
  readonly maxRetryDelayMs: number;
  readonly log: ClientLogger;
  /** A background wait (a re-open): its timers never keep the process alive. */
  readonly background?: boolean;
}

/** Resolves with the final answer (GRANTED, PARTIAL or DENIED); rejects DEADLINE_EXCEEDED at the deadline. */
export async function awaitDecision(
  transport: Transport,
  o: AwaitDecisionOptions,
): Promise<OpenResponse__Output> {
  let failures = 0;
  let polling = false;
  for (;;) {
    if (o.signal.aborted) throw abortError(o.signal, 'waiting for a decision');
    if (Date.now() >= o.deadlineMs) throw timedOut(o);
    try {
      if (!polling)
        return await transport.waitDecision(o.pendingId, { deadlineMs: o.deadlineMs, signal: o.signal });
      const found = await pollOnce(transport, o);
      if (found !== undefined) return found;
      await sleep(Math.min(o.pollMs, Math.max(0, o.deadlineMs - Date.now())), o.signal, o.background);
      continue;
    } catch (e) {
      if (!(e instanceof PinholeClientError)) throw e;
      if (e.code === 'UNIMPLEMENTED' && !polling) {
        o.log.info(
          { pendingId: o.pendingId },
          'server has no WaitDecision; polling ListMine for the approval',
        );
        polling = true;
        continue;
      }
      if (e.code === 'DEADLINE_EXCEEDED' && Date.now() >= o.deadlineMs - 5) throw timedOut(o);
      if (!e.retryable) throw e;
      failures++;
      o.log.debug(
        { pendingId: o.pendingId, code: e.code, failures },
        'waiting for a decision failed; retrying',
      );
      await sleep(
        Math.min(
          backoffMs(failures, 250, o.maxRetryDelayMs, Math.random(), e.retryAfterMs),
          Math.max(0, o.deadlineMs - Date.now()),
        ),
        o.signal,
        o.background,
      );
    }
  }
}

async function pollOnce(
  transport: Transport,
  o: AwaitDecisionOptions,
): Promise<OpenResponse__Output | undefined> {
  const mine = await transport.unary(
    'ListMine',
    {},
    { deadlineMs: Math.min(o.deadlineMs, Date.now() + 10_000), signal: o.signal },
  );
  const lease = mine.leases.find((l) => l.requestId === o.requestId);
  if (lease === undefined) return undefined;
  return {
    decision: {
      outcome: 'GRANTED',
      ruleId: lease.ruleId,
      reason: 'approved by an administrator (seen in ListMine)',
      narrowings: [],
      wouldAllow: '',
      openings: [],
      rules: lease.rules,
      ttlSeconds: lease.ttlSeconds,
    },
    lease,
    pendingId: o.pendingId,
    serverEpoch: mine.serverEpoch,
  };
}

function timedOut(o: AwaitDecisionOptions): PinholeClientError {
  return new PinholeClientError(
    'DEADLINE_EXCEEDED',
    `pending_id: ${o.pendingId} is still waiting for an administrator's decision; wait longer (pendingTimeoutMs) or ask an admin to approve it`,
    { retryable: false, method: 'WaitDecision' },
  );
}
