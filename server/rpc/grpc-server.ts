/**
 * The gRPC server: mTLS only. The credentials name the Pinhole CA explicitly (never the system
 * roots) and require a client certificate, so a connection without a CA-signed certificate
 * never reaches a handler.
 */
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { PinholeError } from '../core/errors.js';
import type { LeaseEngine } from '../lease/lease-engine.js';
import type { ApprovalDesk } from '../lease/approval-desk.js';
import type { AdminService } from '../admin/admin-service.js';
import { adminService } from './admin-service.js';
import type { HandlerContext } from './handler.js';
import { openingService } from './opening-service.js';
import { loadPinholeProto } from './proto.js';
import { watchService, type WatchDeps } from './watch-service.js';

export interface TlsMaterial {
  readonly caPem: Buffer;
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
}

export interface GrpcServerOptions {
  readonly listen: string;
  readonly tls: TlsMaterial;
  readonly context: HandlerContext;
  readonly engine: LeaseEngine;
  readonly desk: ApprovalDesk;
  readonly admin: AdminService;
  readonly watch: WatchDeps;
  /** Largest request accepted, bytes. */
  readonly maxReceiveMessageBytes?: number;
}

export interface RunningGrpcServer {
  /** host:port actually bound (port 0 resolved). */
  readonly address: string;
  close(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(o: GrpcServerOptions): Promise<RunningGrpcServer> {
  const proto = loadPinholeProto();
  const server = new Server({
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  server.addService(
    proto.pinhole.v1.Opening.service,
    openingService(o.context, o.engine, o.desk, (l) => o.watch.registry.decorate(l)) as unknown as UntypedServiceImplementation,
  );
  server.addService(proto.pinhole.v1.LeaseWatch.service, watchService(o.context, o.watch) as unknown as UntypedServiceImplementation);
  server.addService(
    proto.pinhole.v1.Admin.service,
    adminService(o.context, o.admin, () => o.watch.epoch()) as unknown as UntypedServiceImplementation,
  );
  const credentials = ServerCredentials.createSsl(o.tls.caPem, [{ private_key: o.tls.keyPem, cert_chain: o.tls.certPem }], true);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(o.listen, credentials, (error, boundPort) => {
      if (error === null) resolve(boundPort);
      else reject(new PinholeError('UNAVAILABLE', `cannot listen on ${o.listen}: ${error.message}`, { cause: error }));
    });
  });
  const host = o.listen.slice(0, o.listen.lastIndexOf(':'));
  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    close(graceMs = 5000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}
