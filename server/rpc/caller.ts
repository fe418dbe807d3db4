/** The authenticated caller of a gRPC call, from its mTLS peer certificate. */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { PinholeError } from '../core/errors.js';
import { readPeerCertificate, type PeerCertificate } from '../identity/peer.js';
import type { RevocationSource } from '../identity/tls-runtime.js';
import { certificateRefusal } from '../identity/certificate-guard.js';
import type { Caller } from '../lease/caller.js';

/** What every kind of server call offers (grpc-js does not export its common base type). */
export type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'getPeer'> & {
  readonly request?: unknown;
};

/**
 * The caller, checked again on every call. TLS checks the client certificate only at the handshake,
 * and a connection can outlive both the certificate's validity and its revocation: so the expiry
 * and the revoked set (`revocations`, from the CRL) are checked per call.
 */
export function callerOf(
  call: ServerSurfaceCall,
  trustDomain: string,
  revocations?: RevocationSource,
  connections?: ConnectionPeers,
): Caller {
  const peer = peerCertificateOf(call, trustDomain, connections);
  const refusal = certificateRefusal(peer, revocations, Date.now());
  if (refusal !== undefined) throw refusal;
  return {
    identity: peer.identity,
    peer: call.getPeer(),
    certificate: { serial: peer.serial, issuer: peer.issuer },
  };
}

/**
 * The peer certificates of the connections a listener of ours accepted (server/rpc/tls-listener.ts),
 * read once per connection; undefined for a call that did not come through one.
 */
export type ConnectionPeers = (call: ServerSurfaceCall) => PeerCertificate | undefined;

/**
 * The call's peer certificate: from its connection when the listener is ours (once per
 * connection). Else from grpc-js's auth context, read and parsed for this call: a safety net for
 * a call that did not come through the listener, not a path that carries load.
 */
export function peerCertificateOf(
  call: ServerSurfaceCall,
  trustDomain: string,
  connections?: ConnectionPeers,
): PeerCertificate {
  const known = connections?.(call);
  if (known !== undefined) return known;
  const cert = call.getAuthContext().sslPeerCertificate;
  // The TLS layer already refused connections without a CA-signed client certificate;
  // this guards against a server mistakenly configured without client authentication.
  if (cert?.raw === undefined) {
    throw new PinholeError(
      'UNAUTHENTICATED',
      'no client certificate; connect with a certificate issued by the Pinhole CA',
    );
  }
  return readPeerCertificate(cert.raw, trustDomain);
}
