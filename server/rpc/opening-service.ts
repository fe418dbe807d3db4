/** gRPC handlers of pinhole.v1.Opening: decode, call the lease engine, encode. */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import type { OpeningHandlers } from '../../proto/gen/pinhole/v1/Opening.js';
import type { Lease } from '../core/types.js';
import type { LeaseEngine } from '../lease/lease-engine.js';
import { decodeLeaseId, decodeOpenRequest, decodeTtl, encodeLease, encodeOpenAnswer } from './codec.js';
import { serverStream, unary, type HandlerContext } from './handler.js';
import { guardStream } from './stream-guard.js';
import type { ApprovalDesk } from '../lease/approval-desk.js';
import { invalid } from '../core/errors.js';
import type { Caller } from '../lease/caller.js';
import type { IdentityRateLimiter } from '../limits/rate-limiter.js';
import type { RefusalHold } from '../limits/refusal-hold.js';

/** The abuse limits in front of Open, Renew and Release. */
export interface OpeningLimits {
  readonly rate: IdentityRateLimiter;
  /** Holds rate-limit refusals before they are answered; answered at once when absent. */
  readonly hold?: RefusalHold;
}

/** The call's deadline as epoch ms (Infinity for none). */
function deadlineMs(call: ServerUnaryCall<unknown, unknown>): number {
  const d = call.getDeadline();
  return d instanceof Date ? d.getTime() : d;
}

/** Waits out the hold of a refused call; a cancelled call stops waiting. */
async function holdRefusal(hold: RefusalHold, call: ServerUnaryCall<unknown, unknown>): Promise<void> {
  const abort = new AbortController();
  const cancelled = (): void => {
    abort.abort();
  };
  call.once('cancelled', cancelled);
  try {
    await hold.hold(deadlineMs(call), abort.signal);
  } finally {
    call.off('cancelled', cancelled);
  }
}

/** `decorate` adds derived state (realized) to leases on their way out. */
export function openingService(
  ctx: HandlerContext,
  engine: LeaseEngine,
  desk: ApprovalDesk,
  decorate: (l: Lease) => Lease = (l) => l,
  limits?: OpeningLimits,
): OpeningHandlers {
  // Before decoding: a flood is refused for the price of a token-bucket check, and the refusal
  // is held (server/limits/refusal-hold.ts) so that the flooder cannot set its pace.
  const admit = async (
    caller: Caller,
    method: string,
    call: ServerUnaryCall<unknown, unknown>,
  ): Promise<void> => {
    if (limits === undefined) return;
    try {
      limits.rate.admit(`${caller.identity.role}/${caller.identity.name}`, method, caller.peer);
    } catch (e) {
      if (limits.hold !== undefined) await holdRefusal(limits.hold, call);
      throw e;
    }
  };
  return {
    Open: unary(ctx, 'Open', async (caller, req, call) => {
      await admit(caller, 'Open', call);
      const answer = await engine.open(caller, decodeOpenRequest(req));
      return {
        response: encodeOpenAnswer(answer),
        log: {
          decision: answer.decision.outcome,
          rule: answer.decision.ruleId,
          leaseId: answer.lease?.id,
          pendingId: answer.pendingId,
        },
      };
    }),
    Renew: unary(ctx, 'Renew', async (caller, req, call) => {
      await admit(caller, 'Renew', call);
      const lease = await engine.renew(
        caller,
        decodeLeaseId(req.leaseId),
        decodeTtl(req.requestedTtlSeconds, 'requested_ttl_seconds'),
      );
      return {
        response: { lease: encodeLease(decorate(lease), engine.epoch), serverEpoch: engine.epoch },
        log: { leaseId: lease.id, expiresAtMs: lease.expiresAtMs },
      };
    }),
    Release: unary(ctx, 'Release', async (caller, req, call) => {
      await admit(caller, 'Release', call);
      const lease = await engine.release(caller, decodeLeaseId(req.leaseId));
      return {
        response: { lease: encodeLease(lease, engine.epoch), serverEpoch: engine.epoch },
        log: { leaseId: lease.id },
      };
    }),
    ListMine: unary(ctx, 'ListMine', async (caller) => {
      const leases = await engine.listMine(caller);
      return {
        response: {
          leases: leases.map((l) => encodeLease(decorate(l), engine.epoch)),
          serverEpoch: engine.epoch,
        },
        log: { count: leases.length },
      };
    }),
    WaitDecision: serverStream(ctx, 'WaitDecision', async (caller, req, call) => {
      if (req.pendingId === '')
        throw invalid('pending_id', 'is empty; send the pending_id of a PENDING answer');
      const abort = new AbortController();
      call.once('cancelled', () => {
        abort.abort();
      });
      // The wait ends too when the client certificate expires or is revoked meanwhile.
      const guard = guardStream(ctx, call);
      const signal = AbortSignal.any([abort.signal, guard.signal]);
      let last = '';
      try {
        for await (const answer of desk.waitDecision(caller, req.pendingId, signal)) {
          last = answer.decision.outcome;
          call.write({ response: encodeOpenAnswer(answer) });
        }
      } catch (e) {
        if (!signal.aborted) throw e;
      } finally {
        guard.dispose();
      }
      if (guard.failure !== undefined) throw guard.failure;
      return { pendingId: req.pendingId, decision: last };
    }),
  };
}
