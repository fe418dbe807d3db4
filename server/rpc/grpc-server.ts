/**
 * The gRPC server: mTLS only. Our own TLS listener (tls-listener.ts) names the Pinhole CA
 * explicitly (never the system roots) and requires a client certificate, so a connection without
 * a CA-signed certificate never reaches grpc-js, let alone a handler; grpc-js serves HTTP/2 on the
 * connections it hands over. The certificates can be replaced while running (`updateTls`).
 */
import type { SecureContextOptions } from 'node:tls';
import { Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { LeaseEngine } from '../lease/lease-engine.js';
import type { ApprovalDesk } from '../lease/approval-desk.js';
import type { AdminService } from '../admin/admin-service.js';
import { adminService } from './admin-service.js';
import type { HandlerContext } from './handler.js';
import { openingService, type OpeningLimits } from './opening-service.js';
import { LOADER_OPTIONS, loadPinholeProto, protoRoot } from './proto.js';
import { watchService, type WatchDeps } from './watch-service.js';
import { guardStream, type StreamGuard } from './stream-guard.js';
import { toServiceError } from './status.js';
import { TlsListener } from './tls-listener.js';
import { SocketPeers } from '../identity/socket-peers.js';

export interface GrpcServerOptions {
  readonly listen: string;
  /** CA bundle (`ca`), server certificate and key, optional `crl`. */
  readonly tls: SecureContextOptions;
  readonly context: HandlerContext;
  readonly engine: LeaseEngine;
  readonly desk: ApprovalDesk;
  readonly admin: AdminService;
  readonly watch: WatchDeps;
  /** Largest request accepted, bytes. */
  readonly maxReceiveMessageBytes?: number;
  /** HTTP/2 streams per connection (`grpc.max_concurrent_streams`). Default 256. */
  readonly maxConcurrentStreams?: number;
  /** A connection without calls for this long is closed with GOAWAY. Default 10 minutes. */
  readonly maxConnectionIdleMs?: number;
  /** How often the server pings each connection, and how long a ping may go unanswered before the
   * connection is dropped. Default 60 s and 20 s. */
  readonly keepalive?: { readonly timeMs: number; readonly timeoutMs: number };
  /** Per-identity rate limit of Open/Renew/Release and its refusal hold (server/limits); none when absent. */
  readonly limits?: OpeningLimits;
  /** Serving status for grpc.health.v1 (server/ops/health.ts); default always SERVING. */
  readonly health?: HealthSource;
  /** OpenSSL cipher list (config certs.grpcCipherSuites, or GRPC_SSL_CIPHER_SUITES); Node's default when absent. */
  readonly ciphers?: string;
}

export interface HealthSource {
  readonly status: 'SERVING' | 'NOT_SERVING';
  onChange(listener: (status: 'SERVING' | 'NOT_SERVING') => void): () => void;
}

/** grpc.health.v1 answers for the whole server ('') and for each Pinhole service by name. */
const HEALTH_NAMES = ['', 'pinhole.v1.Opening', 'pinhole.v1.LeaseWatch', 'pinhole.v1.Admin'];
const PROTO_FILES = ['pinhole/v1/opening.proto', 'pinhole/v1/watch.proto', 'pinhole/v1/admin.proto'];

/**
 * grpc-health-check's Watch, ended with UNAVAILABLE at shutdown (it joins `streams`) and with
 * UNAUTHENTICATED when the client certificate expires, is revoked or loses its CA.
 */
function guardedHealthWatch(
  watch: (call: ServerWritableStream<unknown, unknown>) => void,
  streams: Set<() => void>,
  context: HandlerContext,
): (call: ServerWritableStream<unknown, unknown>) => void {
  return (call) => {
    let guard: StreamGuard;
    try {
      guard = guardStream(context, call);
    } catch (e) {
      call.emit('error', toServiceError(e, 'health'));
      return;
    }
    let open = true;
    const end = (error: { code: status; details: string }): void => {
      if (!open) return;
      open = false;
      streams.delete(stop);
      guard.dispose();
      call.emit('error', error);
      call.emit('cancelled', 'cancelled');
    };
    const stop = (): void => {
      end({ code: status.UNAVAILABLE, details: 'the server is shutting down' });
    };
    const refused = (): void => {
      const e = toServiceError(guard.failure, 'health');
      end({ code: e.code, details: e.details ?? 'client certificate no longer valid' });
    };
    const done = (): void => {
      open = false;
      streams.delete(stop);
      guard.dispose();
    };
    call.once('finish', done);
    call.once('cancelled', done);
    if (guard.signal.aborted) {
      refused();
      return;
    }
    guard.signal.addEventListener('abort', refused, { once: true });
    streams.add(stop);
    watch(call);
  };
}

/**
 * Standard health checking (grpc-health-check) and server reflection (@grpc/reflection, for grpcurl
 * and friends). Health Watch streams are guarded like every other stream (guardedHealthWatch).
 */
function addOpsServices(
  server: Server,
  source: HealthSource | undefined,
  streams: Set<() => void>,
  context: HandlerContext,
): void {
  const initial = source?.status ?? 'SERVING';
  const health = new HealthImplementation(
    Object.fromEntries(HEALTH_NAMES.map((n): [string, ServingStatus] => [n, initial])),
  );
  source?.onChange((s) => {
    for (const name of HEALTH_NAMES) health.setStatus(name, s);
  });
  health.addToServer({
    addService(definition, implementation) {
      const watch = implementation.watch as (call: ServerWritableStream<unknown, unknown>) => void;
      server.addService(definition, {
        ...implementation,
        watch: guardedHealthWatch(watch, streams, context),
      });
    },
  });
  new ReflectionService(loadSync(PROTO_FILES, { ...LOADER_OPTIONS, includeDirs: [protoRoot()] })).addToServer(
    server,
  );
}

export interface RunningGrpcServer {
  /** host:port actually bound (port 0 resolved). */
  readonly address: string;
  /** Stops accepting, ends open streams with UNAVAILABLE, lets unary calls finish; after graceMs, cuts. */
  close(graceMs?: number): Promise<void>;
  /** New handshakes use these (checked) options; open connections keep theirs. */
  updateTls(options: SecureContextOptions): void;
}

export async function startGrpcServer(o: GrpcServerOptions): Promise<RunningGrpcServer> {
  const proto = loadPinholeProto();
  const server = new Server({
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    'grpc.max_concurrent_streams': o.maxConcurrentStreams ?? 256,
    'grpc.max_connection_idle_ms': o.maxConnectionIdleMs ?? 600_000,
    'grpc.keepalive_time_ms': o.keepalive?.timeMs ?? 60_000,
    'grpc.keepalive_timeout_ms': o.keepalive?.timeoutMs ?? 20_000,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  const streams = new Set<() => void>();
  // grpc-js speaks plain HTTP/2 over the TLS sockets our listener accepted (below).
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = await TlsListener.open({
    listen: o.listen,
    tls: o.tls,
    ...(o.ciphers === undefined ? {} : { ciphers: o.ciphers }),
    onConnection: (socket) => {
      injector.injectConnection(socket);
    },
  });
  const peers = new SocketPeers(o.context.trustDomain);
  const context: HandlerContext = {
    ...o.context,
    streams,
    connections: (call) => {
      const socket = listener.socketOf(call.getPeer());
      return socket === undefined ? undefined : peers.read(socket);
    },
  };
  server.addService(
    proto.pinhole.v1.Opening.service,
    openingService(context, o.engine, o.desk, (l) => o.watch.registry.decorate(l), o.limits),
  );
  server.addService(proto.pinhole.v1.LeaseWatch.service, watchService(context, o.watch));
  server.addService(
    proto.pinhole.v1.Admin.service,
    adminService(context, o.admin, () => o.watch.epoch()),
  );
  addOpsServices(server, o.health, streams, context);
  let closing: Promise<void> | undefined;
  return {
    address: listener.address,
    updateTls(options) {
      listener.update(options);
    },
    close(graceMs = 5000) {
      closing ??= (async () => {
        // No new connections; resolves once every accepted one has closed.
        const stopped = listener.close();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, graceMs);
          force.unref();
          // GOAWAY on every connection; unary calls in flight finish.
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
          // Streams never end by themselves: end them with UNAVAILABLE. After pending callbacks, so
          // streams already ending (the watch hub's, closed just before) keep their own status.
          setImmediate(() => {
            for (const stop of [...streams]) stop();
          });
        });
        // Every HTTP/2 session is closed by now: what is left of their sockets carries nothing.
        listener.destroyConnections();
        await stopped;
      })();
      return closing;
    },
  };
}
