/** The authenticated caller of a gRPC call, from its mTLS peer certificate. */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { PinholeError } from '../core/errors.js';
import { identityFromCertificate } from '../identity/peer.js';
import type { Caller } from '../lease/caller.js';

/** What every kind of server call offers (grpc-js does not export its common base type). */
export type ServerSurfaceCall = Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'getPeer'> & { readonly request?: unknown };

export function callerOf(call: ServerSurfaceCall, trustDomain: string): Caller {
  const cert = call.getAuthContext().sslPeerCertificate;
  // The TLS layer already refused connections without a CA-signed client certificate;
  // this guards against a server mistakenly configured without client authentication.
  if (cert?.raw === undefined) {
    throw new PinholeError('UNAUTHENTICATED', 'no client certificate; connect with a certificate issued by the Pinhole CA');
  }
  return { identity: identityFromCertificate(cert.raw, trustDomain), peer: call.getPeer() };
}
