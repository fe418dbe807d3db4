/**
 * The operations side of a server, in one object for app.ts: the metrics registry, the store health
 * probe, the instrumented store and the admin /metrics route. Created right after the store (so
 * every commit is timed) and bound to the hub and enforcer registry once they exist.
 */
import type { Logger } from '../log.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import type { WatchHub } from '../watch/hub.js';
import type { EnforcerRegistry } from '../watch/enforcer-registry.js';
import type { Route } from '../admin/http-routes.js';
import type { ReloadOutcome } from '../policy-runtime.js';
import { ServerMetrics } from './metrics.js';
import { StoreHealth } from './health.js';
import { instrumentStore } from './instrument-store.js';

/** A lease id no lease has: the probe reads one indexed row, found or not. */
const PROBE_LEASE_ID = 'lse_health_probe';

export interface ServerOps {
  readonly metrics: ServerMetrics;
  readonly health: StoreHealth;
  /** The store to use everywhere: commits timed, store failures probed at once. */
  readonly store: Store;
  /** GET /metrics on the admin listener (admin certificates only). */
  readonly routes: readonly Route[];
  /** The rpc layer's per-request hook. */
  readonly observe: (method: string, outcome: string, seconds: number | undefined) => void;
  /** Counts a reload's result and passes it on. */
  trackReload(reload: Promise<ReloadOutcome>): Promise<ReloadOutcome>;
  /**
   * Connects the gauges to the hub, the enforcer registry and the live-lease count (the one the
   * quotas keep: server/limits/live-leases.ts).
   */
  bind(parts: {
    readonly hub: WatchHub;
    readonly registry: EnforcerRegistry;
    readonly liveLeases: { readonly size: number };
  }): Promise<void>;
  /** Health turns NOT_SERVING for good: the first step of shutdown. */
  beginShutdown(): void;
  close(): Promise<void>;
}

export function createServerOps(raw: Store, config: Config, log: Logger): ServerOps {
  const metrics = new ServerMetrics();
  const health = new StoreHealth({
    probe: () => raw.getLease(PROBE_LEASE_ID),
    intervalMs: config.health.probeIntervalMs,
    timeoutMs: config.health.probeTimeoutMs,
    log,
  });
  // A store that stopped for good (its worker thread died) is NOT_SERVING now, not at the next probe.
  const stopWatching = raw.onFailure?.(() => {
    void health.probeNow();
  });
  const store = instrumentStore(raw, {
    observe: (outcome, seconds) => {
      metrics.observeCommit(outcome, seconds);
    },
    failed: () => {
      health.commitFailed();
    },
  });
  return {
    metrics,
    health,
    store,
    routes: [
      {
        method: 'GET',
        path: '/metrics',
        roles: ['admin'],
        handle: async () => {
          const { contentType, body } = await metrics.scrape();
          return { kind: 'download', contentType, fileName: 'metrics.prom', body };
        },
      },
    ],
    observe: (method, outcome, seconds) => {
      metrics.observeRequest(method, outcome, seconds);
    },
    trackReload: (reload) =>
      reload.then(
        (outcome) => {
          metrics.countReload(outcome.ok ? 'ok' : 'invalid');
          return outcome;
        },
        (err: unknown) => {
          metrics.countReload('error');
          throw err;
        },
      ),
    bind({ hub, registry, liveLeases }) {
      metrics.bind({
        liveLeases: () => liveLeases.size,
        pendingApprovals: async () => (await store.listPending('waiting')).length,
        watchSubscribers: () => hub.subscriberCount,
        watchQueuedEvents: () => hub.queuedEvents,
        enforcers: () => registry.list(),
        storeRevision: () => store.revision,
        storeUp: () => health.status === 'SERVING',
      });
      return Promise.resolve();
    },
    beginShutdown: () => {
      health.beginShutdown();
    },
    async close() {
      stopWatching?.();
      await health.close();
    },
  };
}
