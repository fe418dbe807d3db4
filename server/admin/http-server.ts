/**
 * The admin HTTPS listener: the web console's files, its JSON API and its change feed. mTLS
 * against the Pinhole CA only, as the gRPC listener: a client without a CA-signed certificate
 * fails the handshake and never reaches a handler; a certificate of another role gets 403.
 * As on the gRPC listener, the certificate is checked again on every request (a keep-alive
 * connection outlives revocation, expiry and its CA's removal: 401 with the reason), and an open
 * event stream ends when its certificate stops being good (server/identity/certificate-guard.ts).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TLSSocket, type SecureContextOptions } from 'node:tls';
import { randomUUID } from 'node:crypto';
import type { JSONWebKeySet } from 'jose';
import type { Logger } from '../log.js';
import { PinholeError } from '../core/errors.js';
import { SocketPeers } from '../identity/socket-peers.js';
import { certificateRefusal, guardCertificate } from '../identity/certificate-guard.js';
import type { RevocationSource } from '../identity/tls-runtime.js';
import { actorOf, type Caller } from '../lease/caller.js';
import type { Store } from '../store/store.js';
import type { EnforcerRegistry } from '../watch/enforcer-registry.js';
import type { AdminService } from './admin-service.js';
import { errorReply, HttpRefusal } from './http-errors.js';
import { ChangeFeed } from './http-events.js';
import { adminRoutes, type Reply, type Route, type RouteContext } from './http-routes.js';
import { loadStaticFiles, type StaticFile } from './http-static.js';

export interface AdminHttpOptions {
  /** host:port; port 0 picks a free port. */
  readonly listen: string;
  readonly tls: {
    readonly caPem: Buffer;
    readonly certPem: Buffer;
    readonly keyPem: Buffer;
    /** CRLs (PEM), checked at each handshake. */
    readonly crlPems?: readonly string[];
  };
  readonly trustDomain: string;
  /** The revoked set and CA removals of the live TLS material; without it, only expiry is checked per request. */
  readonly certificates?: RevocationSource;
  readonly admin: AdminService;
  readonly store: Store;
  readonly registry: EnforcerRegistry;
  /** The receipt signer's public keys, for GET /.well-known/jwks.json. */
  readonly jwks: () => JSONWebKeySet;
  readonly log: Logger;
  /** Default: the files in server/admin/static. */
  readonly staticFiles?: ReadonlyMap<string, StaticFile>;
  /** Routes added by other parts (GET /metrics from server/ops), same mTLS and role checks. */
  readonly extraRoutes?: readonly Route[];
}

export interface RunningAdminHttp {
  /** host:port actually bound (port 0 resolved). */
  readonly address: string;
  /** Ends event streams, stops accepting, waits up to graceMs for requests in flight, then cuts. Idempotent. */
  close(graceMs?: number): Promise<void>;
  /** New handshakes use these (already checked) certificates, CA bundle and CRL; open connections keep theirs. */
  updateTls(options: SecureContextOptions): void;
}

/**
 * Sent with every response. No inline script or style anywhere in the console, so the policy
 * can be strict: a stored-XSS string in a lease description cannot run.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

function splitListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(colon + 1)) };
}

/** The TLS socket behind a request; anything else would mean no TLS at all. */
function tlsSocketOf(socket: unknown): TLSSocket {
  // node:https hands every request a TLSSocket.
  if (!(socket instanceof TLSSocket))
    throw new PinholeError(
      'UNAUTHENTICATED',
      'not a TLS connection; use https with a Pinhole client certificate',
    );
  return socket;
}

/** The caller of a request, refused (401) when its certificate was revoked, expired or lost its CA since the handshake. */
function callerOfSocket(
  socket: unknown,
  peers: SocketPeers,
  revocations: RevocationSource | undefined,
): Caller {
  const tls = tlsSocketOf(socket);
  const peer = peers.read(tls);
  const refusal = certificateRefusal(peer, revocations, Date.now());
  if (refusal !== undefined) throw refusal;
  return {
    identity: peer.identity,
    peer: `${tls.remoteAddress ?? '?'}:${tls.remotePort ?? 0}`,
    certificate: { serial: peer.serial, issuer: peer.issuer },
  };
}

/**
 * CSRF: a POST must come from the console's own origin. Browsers always send Origin on
 * cross-origin POSTs (and Sec-Fetch-Site where supported); the CLI and scripts send neither and
 * are already authenticated by their certificate, which a foreign page cannot choose.
 */
function checkSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `https://${req.headers.host ?? ''}`) {
    throw new PinholeError(
      'PERMISSION_DENIED',
      `cross-origin request from ${JSON.stringify(origin.slice(0, 100))} refused; use the console itself`,
    );
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new PinholeError(
      'PERMISSION_DENIED',
      `cross-site request (Sec-Fetch-Site: ${site}) refused; use the console itself`,
    );
  }
}

function send(
  res: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string | Buffer,
): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  });
  res.end(body);
}

function sendReply(res: ServerResponse, reply: Exclude<Reply, { kind: 'taken' }>): number {
  if (reply.kind === 'download') {
    send(
      res,
      200,
      {
        'content-type': reply.contentType,
        'content-disposition': `attachment; filename="${reply.fileName}"`,
        'cache-control': 'no-store',
      },
      reply.body,
    );
    return 200;
  }
  const status = reply.status ?? 200;
  send(
    res,
    status,
    { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    JSON.stringify(reply.body),
  );
  return status;
}

export async function startAdminHttpServer(o: AdminHttpOptions): Promise<RunningAdminHttp> {
  const files = o.staticFiles ?? loadStaticFiles();
  const feed = new ChangeFeed({ store: o.store, registry: o.registry });
  const routes = adminRoutes({
    admin: o.admin,
    jwks: o.jwks,
    events: ({ req, res }) => {
      // SSE responses stay open; security headers still apply to them.
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
      // The request passed callerOfSocket just now: a cache hit. The stream ends when the
      // certificate is revoked, expires or its CA leaves the bundle; EventSource then reconnects
      // and its next request is refused with 401, which stops it.
      const guard = guardCertificate(peers.read(tlsSocketOf(req.socket)), o.certificates);
      // Tripped already (a notAfter passed since the check above): the error path answers 401.
      if (guard.failure !== undefined) throw guard.failure;
      res.once('close', () => {
        guard.dispose();
      });
      guard.signal.addEventListener('abort', () => {
        const message = guard.failure?.message ?? 'client certificate no longer accepted';
        o.log.info({ path: '/api/events', error: message }, 'event stream ended');
        if (!res.writableEnded) res.end(`event: refused\ndata: ${JSON.stringify({ error: message })}\n\n`);
      });
      feed.attach(res);
    },
  });
  const byPath = new Map<string, Route[]>();
  for (const r of [...routes, ...(o.extraRoutes ?? [])])
    byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
  // Peer certificates read once per connection (keep-alive carries many requests).
  const peers = new SocketPeers(o.trustDomain);

  const handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    tag: string,
  ): Promise<{ status: number; caller?: Caller }> => {
    const caller = callerOfSocket(req.socket, peers, o.certificates);
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    const method = req.method ?? 'GET';
    const file = files.get(url.pathname);
    if (file !== undefined && (method === 'GET' || method === 'HEAD')) {
      if (caller.identity.role !== 'admin')
        throw new PinholeError(
          'PERMISSION_DENIED',
          `the console needs an admin certificate; ${actorOf(caller)} presented a ${caller.identity.role} certificate`,
        );
      // For HEAD, Node's ServerResponse drops the body itself; Content-Length stays right.
      send(res, 200, { 'content-type': file.contentType, 'cache-control': 'no-cache' }, file.body);
      return { status: 200, caller };
    }
    const candidates = byPath.get(url.pathname);
    if (candidates === undefined)
      throw new HttpRefusal(404, 'NOT_FOUND', `${url.pathname} does not exist; the API lives under /api/`);
    const route = candidates.find((r) => r.method === method);
    if (route === undefined) {
      const allow = candidates.map((r) => r.method).join(', ');
      throw new HttpRefusal(
        405,
        'INVALID_ARGUMENT',
        `${method} ${url.pathname} is not supported; use ${allow}`,
        { allow },
      );
    }
    if (!route.roles.includes(caller.identity.role)) {
      throw new PinholeError(
        'PERMISSION_DENIED',
        `${url.pathname} needs an admin certificate; ${actorOf(caller)} presented a ${caller.identity.role} certificate`,
      );
    }
    if (method === 'POST') checkSameOrigin(req);
    const ctx: RouteContext = { caller, req, res, url };
    const reply = await route.handle(ctx);
    if (reply.kind === 'taken') {
      o.log.info({ tag, method, path: url.pathname, identity: actorOf(caller) }, 'event stream opened');
      return { status: 200, caller };
    }
    return { status: sendReply(res, reply), caller };
  };

  const server: Server = createServer(
    {
      ca: o.tls.caPem,
      cert: o.tls.certPem,
      key: o.tls.keyPem,
      ...(o.tls.crlPems !== undefined && o.tls.crlPems.length > 0 ? { crl: [...o.tls.crlPems] } : {}),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      const started = performance.now();
      const tag = randomUUID();
      const path = (req.url ?? '/').split('?')[0];
      handle(req, res, tag).then(
        ({ status, caller }) => {
          if (path === '/api/events') return;
          o.log.info(
            {
              tag,
              method: req.method,
              path,
              identity: caller === undefined ? undefined : actorOf(caller),
              status,
              latencyMs: Math.round(performance.now() - started),
            },
            'request',
          );
        },
        (error: unknown) => {
          const reply = errorReply(error, tag);
          const fields = {
            tag,
            method: req.method,
            path,
            status: reply.status,
            latencyMs: Math.round(performance.now() - started),
          };
          if (reply.internal) o.log.error({ ...fields, err: error }, 'request failed');
          else o.log.info({ ...fields, error: reply.body.error.message }, 'request refused');
          if (res.headersSent) {
            res.destroy();
            return;
          }
          // An unread request body would otherwise be parsed as the next request on this connection.
          if (!req.complete) res.setHeader('connection', 'close');
          send(
            res,
            reply.status,
            {
              'content-type': 'application/json; charset=utf-8',
              'cache-control': 'no-store',
              ...reply.headers,
            },
            JSON.stringify(reply.body),
          );
        },
      );
    },
  );
  // A connection's peer is read once (SocketPeers): no renegotiation to present another certificate.
  server.on('secureConnection', (socket) => {
    socket.disableRenegotiation();
  });
  // Handshakes refused for a missing or foreign certificate: expected noise, not an error.
  server.on('tlsClientError', (err) => {
    o.log.debug({ err: err.message }, 'admin TLS handshake refused');
  });
  const { host, port } = splitListen(o.listen);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(
        new PinholeError('UNAVAILABLE', `admin console cannot listen on ${o.listen}: ${err.message}`, {
          cause: err,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  const address = `${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  o.log.info({ address }, 'admin console serving');

  let closing: Promise<void> | undefined;
  return {
    address,
    updateTls(options) {
      // setSecureContext replaces every context option: keep the minimum version with the new files.
      server.setSecureContext({ ...options, minVersion: 'TLSv1.2' });
    },
    close(graceMs = 2000) {
      closing ??= new Promise<void>((resolve) => {
        feed.close();
        const force = setTimeout(() => {
          server.closeAllConnections();
        }, graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
