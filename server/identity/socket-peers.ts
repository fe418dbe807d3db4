/**
 * The peer certificate behind a TLS socket, read and parsed once per connection. A connection
 * carries many calls (HTTP/2 streams, keep-alive requests), and `getPeerCertificate()` builds the
 * whole certificate object each time (three fingerprints, the public key...): about 110 µs here,
 * more than the rest of a refused call. A certificate that names no valid identity is remembered
 * as that refusal. Whether the certificate is still good (revocation, expiry) changes over time
 * and is checked per call, outside this cache.
 *
 * Sound because the peer certificate of a connection cannot change: the listeners that use this
 * disable TLS renegotiation on every socket they accept (TLS 1.3 has none at all).
 */
import type { TLSSocket } from 'node:tls';
import { PinholeError } from '../core/errors.js';
import { readPeerCertificate, type PeerCertificate } from './peer.js';

export class SocketPeers {
  readonly #trustDomain: string;
  readonly #known = new WeakMap<TLSSocket, PeerCertificate | PinholeError>();

  constructor(trustDomain: string) {
    this.#trustDomain = trustDomain;
  }

  /** The socket's peer; throws UNAUTHENTICATED when it has no certificate naming a valid identity. */
  read(socket: TLSSocket): PeerCertificate {
    let known = this.#known.get(socket);
    if (known === undefined) {
      known = this.#parse(socket);
      this.#known.set(socket, known);
    }
    if (known instanceof PinholeError) throw known;
    return known;
  }

  #parse(socket: TLSSocket): PeerCertificate | PinholeError {
    // The DER alone: getPeerX509Certificate() does not build the detailed object.
    const raw = socket.getPeerX509Certificate()?.raw;
    try {
      if (raw === undefined) {
        // rejectUnauthorized refuses these at the handshake; this guards a misconfiguration.
        throw new PinholeError(
          'UNAUTHENTICATED',
          'no client certificate; connect with a certificate issued by the Pinhole CA',
        );
      }
      return readPeerCertificate(raw, this.#trustDomain);
    } catch (e) {
      return e instanceof PinholeError
        ? e
        : new PinholeError('UNAUTHENTICATED', 'peer certificate could not be read', { cause: e });
    }
  }
}
