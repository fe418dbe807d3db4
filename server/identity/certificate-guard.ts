/**
 * Whether a client certificate that passed the TLS handshake may still be used, for every
 * transport that keeps connections open: the gRPC calls and streams (server/rpc/caller.ts,
 * stream-guard.ts) and the admin HTTPS console (server/admin/http-server.ts). TLS checks the
 * certificate only at the handshake, and a connection can outlive its validity, its revocation
 * (a reloaded CRL) and its CA's removal from the bundle.
 */
import { PinholeError } from '../core/errors.js';
import { callAt } from '../core/long-timer.js';
import type { CertificateRef } from '../core/types.js';
import { revocationKey, type PeerCertificate } from './peer.js';
import type { RevocationSource } from './tls-runtime.js';

/** Why a certificate that passed the handshake may no longer be used, or undefined. */
export function certificateRefusal(
  peer: PeerCertificate,
  revocations: RevocationSource | undefined,
  nowMs: number,
): PinholeError | undefined {
  if (revocations?.isRevoked(peer.revocationKey) === true) return revokedError(peer);
  if (revocations?.isIssuerRemoved(peer.issuer) === true) return untrustedIssuerError(peer);
  if (peer.identity.notAfterMs <= nowMs) return expiredError(peer);
  return undefined;
}

/**
 * Why a certificate a lease or pending request remembers (Lease.openedBy) is no longer trusted:
 * revoked by the CRL, or issued by a CA the bundle no longer holds; undefined while it is. Its
 * expiry is not a reason: certificates are renewed while the leases they asked for live on.
 */
export function openerRefusal(
  certificate: CertificateRef,
  revocations: RevocationSource,
): string | undefined {
  if (revocations.isRevoked(revocationKey(certificate.issuer, certificate.serial)))
    return `the certificate that asked for it (serial ${certificate.serial}) has been revoked`;
  if (revocations.isIssuerRemoved(certificate.issuer))
    return `the certificate that asked for it (serial ${certificate.serial}) was issued by CA ${JSON.stringify(certificate.issuer.replaceAll('\n', ', '))}, which the server no longer trusts`;
  return undefined;
}

export function expiredError(peer: PeerCertificate): PinholeError {
  return new PinholeError(
    'UNAUTHENTICATED',
    `client certificate expired at ${new Date(peer.identity.notAfterMs).toISOString()}; renew it and reconnect`,
  );
}

export function untrustedIssuerError(peer: PeerCertificate): PinholeError {
  return new PinholeError(
    'UNAUTHENTICATED',
    `client certificate ${peer.identity.role}/${peer.identity.name} (serial ${peer.serial}) was issued by CA ${JSON.stringify(peer.issuer.replaceAll('\n', ', '))}, which the server no longer trusts; get a certificate from a current CA and reconnect with it`,
  );
}

export function revokedError(peer: PeerCertificate): PinholeError {
  return new PinholeError(
    'UNAUTHENTICATED',
    `client certificate ${peer.identity.role}/${peer.identity.name} (serial ${peer.serial}) has been revoked; ask for a new certificate and reconnect with it`,
  );
}

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

/**
 * Trips when `peer` stops being good while a long-lived stream is open: at its notAfter (a timer
 * re-armed past setTimeout's limit), and when a reload revokes it or removes its CA.
 */
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
  let cancelTimer: (() => void) | undefined;
  let unsubscribe: (() => void) | undefined;

  const dispose = (): void => {
    cancelTimer?.();
    cancelTimer = undefined;
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
  if (failure === undefined) {
    // A stream holds the process open by its socket, never by this timer (callAt unrefs it).
    cancelTimer = callAt(peer.identity.notAfterMs, () => {
      trip(expiredError(peer));
    });
  }

  return {
    ended,
    signal: controller.signal,
    get failure() {
      return failure;
    },
    dispose,
  };
}
