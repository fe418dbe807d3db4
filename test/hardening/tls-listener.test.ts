/**
 * The gRPC listener's own TLS (server/rpc/tls-listener.ts): a connection's peer certificate is
 * read once, however many calls it carries (grpc-js would build the certificate object on every
 * call), the identity still follows the connection a call came on, TLS 1.2 renegotiation (the
 * one way to present another certificate on an open connection) is refused, and a client that
 * does not agree on HTTP/2 is cut.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect as netConnect } from 'node:net';
import { connect, TLSSocket, type ConnectionOptions } from 'node:tls';
import { readClientTls } from '../../client-sdk/wire.js';
import { hostClient, removeDir, startTestServer, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { open, webHttps, dbPostgres } from './fixtures.js';

let ts: TestServer;

/** A raw TLS connection to the gRPC listener with web-1's certificate. */
function connectAsWeb1(options: ConnectionOptions): TLSSocket {
  const colon = ts.address.lastIndexOf(':');
  return connect({
    host: ts.address.slice(0, colon),
    port: Number(ts.address.slice(colon + 1)),
    ...readClientTls(ts.certDir, 'host-web-1'),
    ...options,
  });
}
beforeAll(async () => {
  ts = await startTestServer();
});
afterAll(async () => {
  await ts.close();
  removeDir(ts.dataDir);
});

/** Counts calls of the two TLSSocket certificate readers while `run` runs (server and client share the process). */
async function countReads(run: () => Promise<void>): Promise<{ detailed: number; x509: number }> {
  const proto = TLSSocket.prototype;
  const detailed = Object.getOwnPropertyDescriptor(proto, 'getPeerCertificate');
  const x509 = Object.getOwnPropertyDescriptor(proto, 'getPeerX509Certificate');
  const counts = { detailed: 0, x509: 0 };
  const original = { detailed: proto.getPeerCertificate, x509: proto.getPeerX509Certificate };
  // Only the server's sockets count (a client reads the server's certificate once, to verify it).
  const serverSide = (socket: TLSSocket): boolean => (socket as { server?: unknown }).server !== undefined;
  proto.getPeerCertificate = function (this: TLSSocket, detailed?: boolean) {
    if (serverSide(this)) counts.detailed++;
    return original.detailed.call(this, detailed);
  } as typeof proto.getPeerCertificate;
  proto.getPeerX509Certificate = function (this: TLSSocket) {
    if (serverSide(this)) counts.x509++;
    return original.x509.apply(this);
  };
  try {
    await run();
  } finally {
    if (detailed !== undefined) Object.defineProperty(proto, 'getPeerCertificate', detailed);
    if (x509 !== undefined) Object.defineProperty(proto, 'getPeerX509Certificate', x509);
  }
  return counts;
}

describe('the gRPC TLS listener', () => {
  const clients: { close(): void }[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('reads a connection’s certificate once for all its calls, and each call is its own connection’s identity', async () => {
    const web = hostClient(ts.address, ts.certDir, 'web-1');
    const db = hostClient(ts.address, ts.certDir, 'db-1');
    clients.push(web, db);
    const counts = await countReads(async () => {
      for (let i = 0; i < 20; i++) {
        const [w, d] = await Promise.all([
          open(web, webHttps(`tls-web-${i}`)),
          open(db, dbPostgres(`tls-db-${i}`)),
        ]);
        expect(w.decision?.outcome).toBe('GRANTED');
        expect(d.decision?.outcome).toBe('GRANTED');
      }
      const mine = await unaryCall(web, web.ListMine, {});
      expect(mine.leases.length).toBe(20);
      expect(new Set(mine.leases.map((l) => l.host))).toEqual(new Set(['web-1']));
    });
    // 41 calls on two connections: one read per connection, none of the per-call kind.
    expect(counts).toEqual({ detailed: 0, x509: 2 });
  });

  it('refuses TLS 1.2 renegotiation', async () => {
    const socket = connectAsWeb1({ ALPNProtocols: ['h2'], maxVersion: 'TLSv1.2' });
    try {
      await new Promise<void>((resolve, reject) =>
        socket.once('secureConnect', resolve).once('error', reject),
      );
      socket.resume(); // reading, so the server's close is seen
      const outcome = await new Promise<string>((resolve) => {
        socket.once('close', () => {
          resolve('closed');
        });
        socket.on('error', (e) => {
          resolve(`error: ${e.message}`);
        });
        socket.renegotiate({ rejectUnauthorized: false }, (err) => {
          resolve(err === null ? 'renegotiated' : `error: ${err.message}`);
        });
      });
      expect(outcome).toBe('closed');
    } finally {
      socket.destroy();
    }
  });

  it('cuts a client that does not agree on HTTP/2', async () => {
    const socket = connectAsWeb1({ ALPNProtocols: ['http/1.1'] });
    socket.on('error', () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      socket.once('close', () => {
        resolve(true);
      });
      socket.once('secureConnect', () => {
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      });
    });
    expect(closed).toBe(true);
  });
});

describe('closing the gRPC listener', () => {
  it('does not wait for a connection stuck before its TLS handshake', async () => {
    const own = await startTestServer();
    const colon = own.address.lastIndexOf(':');
    const raw = netConnect(Number(own.address.slice(colon + 1)), own.address.slice(0, colon));
    raw.on('error', () => undefined);
    await new Promise<void>((resolve) => raw.once('connect', resolve));
    // Sends nothing: the TLS server would keep it until its 120 s handshake timeout.
    const started = performance.now();
    await own.close();
    const ms = performance.now() - started;
    removeDir(own.dataDir);
    const closed = await new Promise<boolean>((resolve) => {
      if (raw.destroyed) resolve(true);
      raw.once('close', () => {
        resolve(true);
      });
    });
    expect(closed).toBe(true);
    expect(ms).toBeLessThan(30_000);
  });
});
