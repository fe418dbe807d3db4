/**
 * The gRPC listener's mutual TLS, done by a node:tls server of ours rather than inside grpc-js:
 * each connection whose handshake succeeds (a client certificate chaining to the Pinhole CA, not
 * revoked by the CRL in the secure context) is handed to grpc-js, which speaks HTTP/2 over it
 * (`Server.createConnectionInjector`). Owning the socket lets the rpc layer find the connection a
 * call came on and read its peer certificate once per connection (server/identity/socket-peers.ts)
 * instead of once per call, as grpc-js's `getAuthContext()` does.
 *
 * The secure context can be replaced while running (`update`): new handshakes use the new
 * certificates, CA bundle and CRL; established connections and their lease streams go on.
 */
import type { Socket } from 'node:net';
import { createServer, type SecureContextOptions, type Server, type TLSSocket } from 'node:tls';
import { PinholeError } from '../core/errors.js';

export interface TlsListenerOptions {
  /** host:port; port 0 picks a free one. */
  readonly listen: string;
  readonly tls: SecureContextOptions;
  /** OpenSSL cipher list for TLS 1.2 handshakes; Node's default when absent. */
  readonly ciphers?: string;
  /** Each connection whose mTLS handshake succeeded and that agreed on HTTP/2. */
  readonly onConnection: (socket: TLSSocket) => void;
}

/** A connection's remote end as grpc-js's `call.getPeer()` writes it. */
const peerKey = (socket: TLSSocket): string =>
  `${socket.remoteAddress ?? ''}:${String(socket.remotePort ?? 0)}`;

export class TlsListener {
  readonly #server: Server;
  readonly #ciphers: string | undefined;
  /**
   * Live connections by remote address and port (`call.getPeer()`): unique among one listener's
   * live TCP connections, so a call's peer names its socket. A socket leaves on 'close', before
   * any later connection could reuse the same remote port, and grpc-js starts a handler while
   * the data that carried its request is being read, so the connection is live then.
   */
  readonly #sockets = new Map<string, TLSSocket>();
  /** Every TCP connection, handshaking ones too: close() must not wait for a handshake to time out. */
  readonly #raw = new Set<Socket>();
  readonly #onConnection: (socket: TLSSocket) => void;
  #address = '';
  #closing: Promise<void> | undefined;

  private constructor(server: Server, o: TlsListenerOptions) {
    this.#server = server;
    this.#ciphers = o.ciphers;
    this.#onConnection = o.onConnection;
    server.on('connection', (raw: Socket) => {
      this.#raw.add(raw);
      raw.once('close', () => this.#raw.delete(raw));
    });
    server.on('secureConnection', (socket) => {
      this.#accept(socket);
    });
  }

  static async open(o: TlsListenerOptions): Promise<TlsListener> {
    const colon = o.listen.lastIndexOf(':');
    const host = o.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const port = Number(o.listen.slice(colon + 1));
    const server = createServer({
      ...withCiphers(o.tls, o.ciphers),
      // A client certificate chaining to `ca` is required; others fail the handshake.
      requestCert: true,
      rejectUnauthorized: true,
      // gRPC is HTTP/2 only, as grpc-js's own listener (http2.createSecureServer) agrees.
      ALPNProtocols: ['h2'],
    });
    const listener = new TlsListener(server, o);
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error): void => {
        reject(
          new PinholeError('UNAVAILABLE', `cannot listen on ${o.listen}: ${error.message}`, { cause: error }),
        );
      };
      server.once('error', failed);
      server.listen(port, host, () => {
        server.off('error', failed);
        resolve();
      });
    });
    const bound = server.address();
    listener.#address = `${o.listen.slice(0, colon)}:${typeof bound === 'object' && bound !== null ? bound.port : port}`;
    return listener;
  }

  /** host:port actually bound (port 0 resolved). */
  get address(): string {
    return this.#address;
  }

  /** The live connection a call came on (its `call.getPeer()`), if it came through this listener. */
  socketOf(peer: string): TLSSocket | undefined {
    return this.#sockets.get(peer);
  }

  /** New handshakes use these options (already checked: Node throws on bad material). */
  update(options: SecureContextOptions): void {
    this.#server.setSecureContext(withCiphers(options, this.#ciphers));
  }

  /** Stops accepting connections; those open are grpc-js's to drain. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    return this.#closing;
  }

  /**
   * Ends every connection at once, those still in their handshake too (after grpc-js closed the
   * sessions, or to force a close): each TCP socket, and with it the TLS socket over it.
   */
  destroyConnections(): void {
    for (const raw of [...this.#raw]) raw.destroy();
  }

  #accept(socket: TLSSocket): void {
    // An error ends that connection only (grpc-js sees the close). It must end it: Node reports a
    // refused renegotiation as an error and would otherwise let the handshake go on.
    socket.on('error', () => {
      socket.destroy();
    });
    if (socket.alpnProtocol !== 'h2') {
      socket.destroy();
      return;
    }
    // A connection's peer certificate is read once (SocketPeers): TLS 1.2 renegotiation, the only
    // way to present another certificate on the same connection, is refused.
    socket.disableRenegotiation();
    const k = peerKey(socket);
    this.#sockets.set(k, socket);
    socket.once('close', () => {
      if (this.#sockets.get(k) === socket) this.#sockets.delete(k);
    });
    this.#onConnection(socket);
  }
}

/** The secure context with the configured cipher list; setSecureContext replaces the whole context. */
function withCiphers(options: SecureContextOptions, ciphers: string | undefined): SecureContextOptions {
  return ciphers === undefined ? options : { ...options, ciphers };
}
