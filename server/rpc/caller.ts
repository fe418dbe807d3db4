/** The authenticated caller of a gRPC call, from its mTLS peer certificate. */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { PinholeError } from '../core/errors.js';
import { identityFromCertificate } from '../identity/peer.js';
import type { Caller } from '../lease/caller.js';
import type { Identity } from '../core/types.js';

/** What every kind of server call offers (grpc-js does not export its common base type). */
export type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'getPeer'> & {
  readonly request?: unknown;
};

export function callerOf(call: ServerSurfaceCall, trustDomain: string): Caller {
  const cert = call.getAuthContext().sslPeerCertificate;
  // The TLS layer already refused connections without a CA-signed client certificate;
  // this guards against a server mistakenly configured without client authentication.
  if (cert?.raw === undefined) {
    throw new PinholeError(
      'UNAUTHENTICATED',
      'no client certificate; connect with a certificate issued by the Pinhole CA',
    );
  }
  return { identity: cachedIdentity(cert.raw, cert.fingerprint256, trustDomain), peer: call.getPeer() };
}

/**
 * Identities by certificate fingerprint. Parsing the peer certificate on every call was the
 * largest per-request cost under a flood (issue 10); an identity is a pure function of the
 * certificate and the trust domain, so it is parsed once per certificate. Bounded: cleared when full.
 */
const IDENTITY_CACHE_MAX = 4096;
const identities = new Map<string, Identity | PinholeError>();

function cachedIdentity(raw: Buffer, fingerprint256: string | undefined, trustDomain: string): Identity {
  if (fingerprint256 === undefined || fingerprint256 === '') return identityFromCertificate(raw, trustDomain);
  const key = `${trustDomain}|${fingerprint256}`;
  let entry = identities.get(key);
  if (entry === undefined) {
    try {
      entry = identityFromCertificate(raw, trustDomain);
    } catch (e) {
      if (!(e instanceof PinholeError)) throw e;
      entry = e;
    }
    if (identities.size >= IDENTITY_CACHE_MAX) identities.clear();
    identities.set(key, entry);
  }
  if (entry instanceof PinholeError) throw entry;
  return entry;
}
