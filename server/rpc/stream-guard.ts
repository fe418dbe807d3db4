/**
 * Ends a long-lived stream (Watch, WaitDecision) whose client certificate stops being good while
 * it is open: at the certificate's notAfter, and when a reload revokes it or removes its CA. TLS checks the
 * certificate only at the handshake, so without this a stream opened yesterday would outlive
 * both. The handler races `ended` (or listens to `signal`) and throws `failure`, so the stream
 * ends with UNAUTHENTICATED and a message through the one error path (handler.ts, status.ts).
 */
import type { PinholeError } from '../core/errors.js';
import type { RevocationSource } from '../identity/tls-runtime.js';
import type { PeerCertificate } from '../identity/peer.js';
import { certificateRefusal, expiredError, peerCertificateOf, type ServerSurfaceCall } from './caller.js';
import type { HandlerContext } from './handler.js';

export interface StreamGuard {
  /** Rejects with the refusal when the certificate expires or is revoked; never resolves. */
  readonly ended: Promise<never>;
  /** Aborted (reason: the refusal) at the same moment. */
  readonly signal: AbortSignal;
  /** The refusal, once there is one. */
  readonly failure: PinholeError | undefined;
  /** Clears the timer and the subscription; call when the stream ends, however it ends. */
  dispose(): void;
}

/** setTimeout's limit (2^31-1 ms, ~24.8 days): a longer wait is re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

export function guardStream(ctx: HandlerContext, call: ServerSurfaceCall): StreamGuard {
  // The handler wrapper already read the caller from this call; this is a cache hit.
  const peer = peerCertificateOf(call, ctx.trustDomain);
  return guardCertificate(peer, ctx.certificates);
}

export function guardCertificate(
  peer: PeerCertificate,
  revocations: RevocationSource | undefined,
): StreamGuard {
  const controller = new AbortController();
  let fail!: (error: PinholeError) => void;
  const ended = new Promise<never>((_resolve, reject) => {
    fail = reject;
  });
  // Handled here: a guard that fires after its handler stopped listening is not an unhandled rejection.
  ended.catch(() => undefined);
  let failure: PinholeError | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  const dispose = (): void => {
    clearTimeout(timer);
    timer = undefined;
    unsubscribe?.();
    unsubscribe = undefined;
  };
  const trip = (error: PinholeError): void => {
    if (failure !== undefined) return;
    failure = error;
    dispose();
    controller.abort(error);
    fail(error);
  };
  const arm = (): void => {
    const waitMs = peer.identity.notAfterMs - Date.now();
    if (waitMs <= 0) {
      trip(expiredError(peer));
      return;
    }
    timer = setTimeout(arm, Math.min(waitMs, MAX_TIMER_MS));
    // A stream holds the process open by its socket, never by this timer.
    timer.unref();
  };
  if (revocations !== undefined) {
    const check = (): void => {
      const refusal = certificateRefusal(peer, revocations, Date.now());
      if (refusal !== undefined) trip(refusal);
    };
    unsubscribe = revocations.onChange(check);
    // A reload between the call's own check and this subscription would otherwise go unseen
    // until the next reload.
    check();
  }
  if (failure === undefined) arm();

  return {
    ended,
    signal: controller.signal,
    get failure() {
      return failure;
    },
    dispose,
  };
}
