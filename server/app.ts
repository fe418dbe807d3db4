/**
 * The composition root: certificates, store, policy, lease engine, sweeper and gRPC server,
 * created in that order and closed in reverse.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './log.js';
import { PinholeError } from './core/errors.js';
import type { Config } from './config/schema.js';
import { initDevPki, readTrustDomain } from './identity/pki.js';
import { CRL_FILE } from './identity/crl.js';
import { secureContextOptions, type TlsFiles } from './identity/tls-material.js';
import { TlsRuntime, type TlsReloadOutcome } from './identity/tls-runtime.js';
import { openerRefusal } from './identity/certificate-guard.js';
import type { CertificateRef } from './core/types.js';
import { RevocationSweep } from './revocation-sweep.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';
import { HostDirectoryCache } from './lease/host-directory.js';
import { LeaseEngine } from './lease/lease-engine.js';
import { ExpirySweeper } from './lease/expiry-sweeper.js';
import { ApprovalDesk } from './lease/approval-desk.js';
import { AdminService } from './admin/admin-service.js';
import { ReceiptSigner } from './identity/receipts.js';
import { AuditRetention } from './audit/retention.js';
import { checkpointSigner } from './audit/checkpoint.js';
import { startGrpcServer, type RunningGrpcServer } from './rpc/grpc-server.js';
import { PolicyRuntime, type ReloadOutcome } from './policy-runtime.js';
import { WatchHub } from './watch/hub.js';
import { EnforcerRegistry } from './watch/enforcer-registry.js';
import { startAdminHttpServer } from './admin/http-server.js';
import { createServerOps, type ServerOps } from './ops/server-ops.js';
import { openStoreWithProgress } from './ops/migrations.js';
import {
  HostQuotas,
  IdentityRateLimiter,
  LiveLeaseCounter,
  RefusalHold,
  RefusalLog,
  StreamQuota,
} from './limits/index.js';

export interface PinholeServer {
  /** host:port the gRPC listener is bound to. */
  readonly address: string;
  /** host:port the admin console (HTTPS) is bound to. */
  readonly adminAddress: string;
  readonly epoch: string;
  readonly trustDomain: string;
  readonly receipts: ReceiptSigner;
  readonly store: Store;
  readonly engine: LeaseEngine;
  readonly desk: ApprovalDesk;
  readonly admin: AdminService;
  readonly hub: WatchHub;
  readonly registry: EnforcerRegistry;
  /** Metrics registry and store health (server/ops). */
  readonly ops: ServerOps;
  reloadPolicy(): Promise<ReloadOutcome>;
  /** Re-reads the CA bundle, server certificate and key and the CRL (SIGHUP, file changes). */
  reloadTls(): Promise<TlsReloadOutcome>;
  /** The live TLS material (server fingerprint, revoked set). */
  readonly tls: TlsRuntime;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly log: Logger;
}

/**
 * Finds (and on first start of a dev setup, generates) the server's TLS files. Their contents are
 * read and checked by TlsRuntime, at start and on every reload.
 */
export function tlsFiles(config: Config, log: Logger): { files: TlsFiles; trustDomain: string } {
  const dir = config.certs.dir;
  const ca = join(dir, 'ca.crt');
  if (!existsSync(ca)) {
    if (!config.certs.autoInit) {
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `${ca} is missing; run \`pinhole certs init --dir ${dir}\` or point certs.dir at your PKI`,
      );
    }
    const files = initDevPki({ dir });
    log.warn({ dir, files: files.length }, 'generated a development PKI; do not use it in production');
  }
  const path = (name: string): string => {
    const p = join(dir, name);
    if (!existsSync(p))
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `${p} is missing; run \`pinhole certs init --dir ${dir}\``,
      );
    return p;
  };
  const trustDomain = config.certs.trustDomain ?? readTrustDomain(dir);
  const crlFile = config.certs.crlFile;
  return {
    files: {
      ca: path('ca.crt'),
      cert: path('server.crt'),
      key: path('server.key'),
      // Without certs.crlFile, crl.pem in the directory is used when it exists (or appears later).
      crl:
        crlFile === undefined
          ? { path: join(dir, CRL_FILE), optional: true }
          : { path: crlFile, optional: false },
    },
    trustDomain,
  };
}

/** SQLite opens synchronously; PostgreSQL connects and migrates first. */
export async function startServer(config: Config, options: StartOptions): Promise<PinholeServer> {
  const log = options.log;
  const { files, trustDomain } = tlsFiles(config, log);
  const tls = await TlsRuntime.open(files, log.child({ module: 'tls' }));
  const ops = createServerOps(
    await openStoreWithProgress(config, log, (c) => openStore(c, log.child({ module: 'store' }))),
    config,
    log.child({ module: 'ops' }),
  );
  const store = ops.store;
  const closers: (() => Promise<void>)[] = [() => tls.close(), () => store.close(), () => ops.close()];
  /** Run first, in order: the hub (lease streams end with UNAVAILABLE), then the listeners. */
  const drain: (() => Promise<unknown>)[] = [];
  const closeAll = async (): Promise<void> => {
    // Health says NOT_SERVING; streams end so agents resume elsewhere; listeners stop accepting
    // while requests in flight finish (up to shutdown.graceMs); then what they used closes.
    ops.beginShutdown();
    for (const step of drain) await step();
    for (const close of closers.reverse()) await close();
  };
  try {
    const policy = await PolicyRuntime.open(config.policy.file, log.child({ module: 'policy' }));
    closers.push(() => policy.close());
    const directory = await HostDirectoryCache.load(store);
    const receipts = await ReceiptSigner.loadOrCreate(config.dataDir);
    const liveLeases = await LiveLeaseCounter.load(store);
    closers.push(() => liveLeases.close());
    // Requests refused by a limit, in the request log: coalesced per identity and limit so a flood
    // costs two records a minute, not one fsync per call. Closed before the store (summaries).
    const refusals = new RefusalLog({
      write: (records): Promise<void> => engine.record(records),
      onError: (err: unknown, records) => {
        log.warn({ err, records }, 'could not record refused requests');
      },
    });
    closers.push(() => refusals.close());
    // Why the certificate a lease or pending request remembers is no longer trusted (CRL, CA bundle).
    const refusalOf = (certificate: CertificateRef): string | undefined => openerRefusal(certificate, tls);
    const engine = new LeaseEngine({
      store,
      policy: () => policy.current,
      directory,
      log: log.child({ module: 'lease' }),
      receipts,
      pendingTimeoutMs: config.leases.pendingTimeoutSeconds * 1000,
      openerRefusal: refusalOf,
      quotas: new HostQuotas({
        maxLiveLeasesPerHost: config.limits.maxLiveLeasesPerHost,
        maxPendingPerHost: config.limits.maxPendingPerHost,
        countLive: (host) => Promise.resolve(liveLeases.count(host)),
        countPending: async (host) =>
          (await store.listPending('waiting')).filter((p) => p.host === host).length,
        refusals,
      }),
    });
    // Leases that expired while the server was down end before the first request is served.
    await engine.expireDue();
    const desk = new ApprovalDesk({
      store,
      receipts,
      openerRefusal: refusalOf,
    });
    // What revoked certificates asked for ends before the first request is served, and after
    // every reload of the CRL or the CA bundle.
    const revocationSweep = new RevocationSweep({
      revocations: tls,
      engine,
      desk,
      log: log.child({ module: 'revocation' }),
    });
    closers.push(() => revocationSweep.close());
    await revocationSweep.sweep();
    const sweeper = new ExpirySweeper(
      [() => engine.expireDue(), () => desk.expireDue()],
      log.child({ module: 'sweeper' }),
      config.leases.sweepIntervalMs,
    );
    closers.push(() => sweeper.close());
    const retentionDays = config.audit.retentionDays;
    if (retentionDays !== undefined) {
      // Prunes the request log on a timer, each batch replaced by a checkpoint signed with the receipt key.
      const retention = new AuditRetention({
        prune: (request) => store.pruneAudit(request),
        sign: checkpointSigner(receipts),
        retentionDays,
        intervalMs: config.audit.pruneIntervalMs,
        log: log.child({ module: 'audit-retention' }),
      });
      closers.push(() => retention.close());
    }
    const hub = new WatchHub({
      store,
      queueLimit: config.watch.queueLimit,
      progressIntervalMs: config.watch.progressIntervalMs,
    });
    closers.push(() => hub.close());
    drain.push(() => hub.close());
    const registry = new EnforcerRegistry({
      heartbeatSeconds: config.watch.heartbeatSeconds,
      expected: () => policy.current.enforcerNames(),
      covers: (name, lease) => {
        const scope = policy.current.enforcerScope(name);
        return scope !== undefined && policy.current.inScope(scope, lease.host, lease.rules, directory);
      },
    });
    await ops.bind({ hub, registry, liveLeases });
    const reloadPolicy = (): Promise<ReloadOutcome> => ops.trackReload(policy.reload(engine));
    if (config.policy.watch) policy.watchFile(() => void reloadPolicy());
    const admin = new AdminService({
      store,
      engine,
      desk,
      registry,
      directory,
      policy: () => policy.current,
      policyFile: () => policy.file,
      reloadPolicy,
      auditKeys: () => receipts.jwks,
    });
    // Rate-limit refusals are held before they are answered; shutdown answers the held ones at once.
    const hold = new RefusalHold({
      holdMs: config.limits.refusalHoldMs,
      maxHeld: config.limits.maxHeldRefusals,
    });
    drain.push(() => {
      hold.close();
      return Promise.resolve();
    });
    const grpc: RunningGrpcServer = await startGrpcServer({
      listen: config.listen,
      tls: secureContextOptions(tls.current),
      context: {
        log: log.child({ module: 'rpc' }),
        trustDomain,
        observe: ops.observe,
        certificates: tls,
      },
      health: ops.health,
      ...(config.certs.grpcCipherSuites === undefined ? {} : { ciphers: config.certs.grpcCipherSuites }),
      engine,
      desk,
      admin,
      watch: {
        hub,
        registry,
        policy: () => policy.current,
        directory,
        epoch: () => store.epoch,
        audit: (records) => engine.record(records),
        streams: new StreamQuota(config.limits.maxWatchStreamsPerFirewall, refusals),
      },
      maxReceiveMessageBytes: config.limits.maxReceiveMessageBytes,
      maxConcurrentStreams: config.limits.maxConcurrentStreams,
      maxConnectionIdleMs: config.limits.maxConnectionIdleMs,
      keepalive: { timeMs: config.limits.keepaliveTimeMs, timeoutMs: config.limits.keepaliveTimeoutMs },
      limits: {
        rate: new IdentityRateLimiter({
          requestsPerSecond: config.limits.requestsPerSecond,
          burst: config.limits.burst,
          refusals,
        }),
        hold,
      },
    });
    closers.push(() => grpc.close());
    const adminHttp = await startAdminHttpServer({
      listen: config.admin.listen,
      tls: tls.current,
      trustDomain,
      certificates: tls,
      admin,
      store,
      registry,
      jwks: () => receipts.jwks,
      log: log.child({ module: 'admin-http' }),
      extraRoutes: ops.routes,
    });
    closers.push(() => adminHttp.close());
    // New handshakes on both listeners use reloaded material; the rpc layer closes the streams
    // of certificates the new CRL revokes (server/rpc/stream-guard.ts).
    tls.onMaterial((material) => {
      const options = secureContextOptions(material);
      grpc.updateTls(options);
      adminHttp.updateTls(options);
    });
    const reloadTls = (): Promise<TlsReloadOutcome> =>
      tls.reload().then((outcome) => {
        ops.metrics.countTlsReload(!outcome.ok ? 'invalid' : outcome.changed ? 'ok' : 'unchanged');
        return outcome;
      });
    ops.metrics.bindCrls(() => tls.current.crlExpiries);
    if (config.certs.watch) tls.watchFiles(() => void reloadTls());
    drain.push(() =>
      Promise.all([grpc.close(config.shutdown.graceMs), adminHttp.close(config.shutdown.graceMs)]),
    );
    log.info(
      {
        address: grpc.address,
        admin: adminHttp.address,
        epoch: store.epoch,
        revision: store.revision,
        trustDomain,
      },
      'pinhole serving',
    );
    let closing: Promise<void> | undefined;
    return {
      address: grpc.address,
      adminAddress: adminHttp.address,
      epoch: store.epoch,
      trustDomain,
      receipts,
      store,
      engine,
      desk,
      admin,
      hub,
      registry,
      ops,
      reloadPolicy,
      reloadTls,
      tls,
      close: () => (closing ??= closeAll()),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
