/**
 * Prometheus metrics of a firewall agent, in a Registry of its own, and a plain-HTTP /metrics
 * endpoint bound to loopback only (`pinhole agent --metrics-listen 127.0.0.1:9465`): the numbers
 * say which leases exist, so they are not served to the network without TLS in front.
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentMetricsHooks, ApplyKind } from './metrics-hooks.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** `AgentMetricsHooks` recorded with prom-client. */
export class AgentMetrics implements AgentMetricsHooks {
  readonly registry = new Registry();
  readonly #applyDuration: Histogram<'kind'>;
  readonly #changes: Counter<'change'>;
  readonly #revision: Gauge;
  readonly #leases: Gauge;
  readonly #tamper: Counter;
  readonly #errors: Counter<'operation' | 'backend'>;
  readonly #connected: Gauge;
  readonly #backend: string;

  /** `backend` (nftables, command) becomes a constant label of the error counter. */
  constructor(options: { readonly backend: string; readonly processMetrics?: boolean }) {
    const registers = [this.registry];
    this.#applyDuration = new Histogram({
      name: 'pinhole_agent_apply_duration_seconds',
      help: 'Time for one change to reach the firewall (one transaction): kind batch (from the lease stream) or reconcile (full check against the kernel).',
      labelNames: ['kind'],
      buckets: BUCKETS,
      registers,
    });
    this.#changes = new Counter({
      name: 'pinhole_agent_changes_applied_total',
      help: 'Leases written to (upsert) or removed from (delete) the firewall, reconcile repairs included.',
      labelNames: ['change'],
      registers,
    });
    this.#revision = new Gauge({
      name: 'pinhole_agent_applied_revision',
      help: 'The highest lease revision applied to the firewall.',
      registers,
    });
    this.#leases = new Gauge({
      name: 'pinhole_agent_leases',
      help: 'Leases this agent holds (in its scope, not ended).',
      registers,
    });
    this.#tamper = new Counter({
      name: 'pinhole_agent_tamper_events_total',
      help: 'Changes made to the firewall outside the agent, found and repaired.',
      registers,
    });
    this.#errors = new Counter({
      name: 'pinhole_agent_enforcer_errors_total',
      help: 'Firewall operations that failed (nft refused or could not run); nothing was applied and the agent retries.',
      labelNames: ['operation', 'backend'],
      registers,
    });
    // Zero series from the start, so rate() and increase() see the first error.
    this.#errors.inc({ operation: 'batch', backend: options.backend }, 0);
    this.#errors.inc({ operation: 'reconcile', backend: options.backend }, 0);
    this.#backend = options.backend;
    this.#connected = new Gauge({
      name: 'pinhole_agent_stream_connected',
      help: '1 while the lease stream delivers events, 0 while reconnecting.',
      registers,
    });
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges with a counter's suffix (promtool rejects them); prom-client also exports each without it.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ])
        this.registry.removeSingleMetric(name);
    }
  }

  applied(info: {
    readonly kind: ApplyKind;
    readonly seconds: number;
    readonly upserts: number;
    readonly deletes: number;
  }): void {
    this.#applyDuration.observe({ kind: info.kind }, info.seconds);
    if (info.upserts > 0) this.#changes.inc({ change: 'upsert' }, info.upserts);
    if (info.deletes > 0) this.#changes.inc({ change: 'delete' }, info.deletes);
  }

  enforcerError(operation: ApplyKind): void {
    this.#errors.inc({ operation, backend: this.#backend });
  }

  appliedRevision(revision: number, leases: number): void {
    this.#revision.set(revision);
    this.#leases.set(leases);
  }

  tamper(events: number): void {
    this.#tamper.inc(events);
  }

  streamConnected(connected: boolean): void {
    this.#connected.set(connected ? 1 : 0);
  }
}

/** Is `host` a loopback address (or the name localhost)? */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface MetricsEndpoint {
  /** host:port actually bound. */
  readonly address: string;
  close(): Promise<void>;
}

/** Serves GET /metrics over plain HTTP on a loopback `host:port`; refuses any other address. */
export async function serveMetrics(listen: string, registry: Registry): Promise<MetricsEndpoint> {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--metrics-listen: ${JSON.stringify(listen)} is not HOST:PORT; use e.g. 127.0.0.1:9465`);
  }
  if (!isLoopback(host)) {
    throw new Error(
      `--metrics-listen: ${host} is not a loopback address; metrics are plain HTTP, so use 127.0.0.1 or ::1 (put a TLS proxy in front to export them)`,
    );
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res
        .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
        .end('only GET /metrics is served here\n');
      return;
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body);
      },
      (err: unknown) => {
        res
          .writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
          .end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === 'object' && bound !== null ? bound.port : port;
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
