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
  return { identity: peer.identity, peer: call.getPeer() };
}

/**
 * The peer certificates of the connections a listener of ours accepted (server/rpc/tls-listener.ts),
 * read once per connection; undefined for a call that did not come through one.
 */
export type ConnectionPeers = (call: ServerSurfaceCall) => PeerCertificate | undefined;

/**
 * The call's peer certificate: from its connection when the listener is ours (once per
 * connection), else from grpc-js's auth context (a certificate object built per call, parsed
 * once per certificate).
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
  return cachedPeer(cert.raw, cert.fingerprint256, trustDomain);
}

/**
 * Peer certificates by fingerprint. Parsing the peer certificate on every call was the
 * largest per-request cost under a flood (issue 10); an identity is a pure function of the
 * certificate and the trust domain, so it is parsed once per certificate. Bounded: cleared when full.
 * Expiry and revocation change over time, so they are checked outside the cache.
 */
const IDENTITY_CACHE_MAX = 4096;
const peers = new Map<string, PeerCertificate | PinholeError>();

function cachedPeer(raw: Buffer, fingerprint256: string | undefined, trustDomain: string): PeerCertificate {
  if (fingerprint256 === undefined || fingerprint256 === '') return readPeerCertificate(raw, trustDomain);
  const key = `${trustDomain}|${fingerprint256}`;
  let entry = peers.get(key);
  if (entry === undefined) {
    try {
      entry = readPeerCertificate(raw, trustDomain);
    } catch (e) {
      if (!(e instanceof PinholeError)) throw e;
      entry = e;
    }
    if (peers.size >= IDENTITY_CACHE_MAX) peers.clear();
    peers.set(key, entry);
  }
  if (entry instanceof PinholeError) throw entry;
  return entry;
}
