/**
 * Ends a long-lived stream (Watch, WaitDecision) whose client certificate stops being good while
 * it is open: at the certificate's notAfter, and when a reload revokes it or removes its CA. TLS checks the
 * certificate only at the handshake, so without this a stream opened yesterday would outlive
 * both. The handler races `ended` (or listens to `signal`) and throws `failure`, so the stream
 * ends with UNAUTHENTICATED and a message through the one error path (handler.ts, status.ts).
 * The guard itself is transport-free (server/identity/certificate-guard.ts; the admin console's
 * event streams use it too).
 */
import { guardCertificate, type StreamGuard } from '../identity/certificate-guard.js';
import { peerCertificateOf, type ServerSurfaceCall } from './caller.js';
import type { HandlerContext } from './handler.js';

export type { StreamGuard };

export function guardStream(ctx: HandlerContext, call: ServerSurfaceCall): StreamGuard {
  // The handler wrapper already read the caller from this call; this is a cache hit.
  const peer = peerCertificateOf(call, ctx.trustDomain, ctx.connections);
  return guardCertificate(peer, ctx.certificates);
}
