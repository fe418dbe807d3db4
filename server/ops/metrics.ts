/**
 * The server's Prometheus metrics, in a Registry of its own (never prom-client's global one, so
 * several servers in one process — tests — never share series). Counters and histograms are fed
 * by hooks (rpc handler, store wrapper, policy reloads); gauges read their sources at scrape time.
 * Served on the admin HTTPS listener at /metrics (admin certificate required).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the gauges read at scrape time. Bound once the parts exist (see `bind`). */
export interface MetricSources {
  readonly liveLeases: () => number;
  readonly pendingApprovals: () => Promise<number>;
  readonly watchSubscribers: () => number;
  readonly watchQueuedEvents: () => number;
  readonly enforcers: () => readonly {
    readonly name: string;
    readonly compliant: boolean;
    readonly appliedRevision: number;
  }[];
  readonly storeRevision: () => number;
  readonly storeUp: () => boolean;
}

/** Commit outcomes: `ok`; `rejected` (a precondition or idempotency conflict, normal); `error` (the store failed). */
export type CommitOutcome = 'ok' | 'rejected' | 'error';

/** Policy reload results: `ok`, `invalid` (the file did not validate; the old policy stays), `error`. */
export type ReloadResult = 'ok' | 'invalid' | 'error';

export interface ServerMetricsOptions {
  /** Process and Node.js runtime metrics (process_*, nodejs_*). Default true. */
  readonly processMetrics?: boolean;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'outcome'>;
  readonly #requestDuration: Histogram<'method' | 'outcome'>;
  readonly #commitDuration: Histogram<'outcome'>;
  readonly #reloads: Counter<'result'>;
  readonly #tlsReloads: Counter<'result'>;
  #sources: MetricSources | undefined;
  #crlExpiries: (() => readonly { readonly ca: string; readonly nextUpdate: Date }[]) | undefined;

  constructor(options: ServerMetricsOptions = {}) {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: 'pinhole_requests_total',
      help: 'RPCs handled, by method and outcome: the decision for Open (GRANTED, PARTIAL, PENDING, DENIED), OK for other successes, else the error code.',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.#requestDuration = new Histogram({
      name: 'pinhole_request_duration_seconds',
      help: 'Time to answer a unary RPC (for Open: the decision, including the durable commit), by method and outcome.',
      labelNames: ['method', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#commitDuration = new Histogram({
      name: 'pinhole_store_commit_duration_seconds',
      help: 'Time for a store commit to become durable, by outcome (ok, rejected by a precondition, error).',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.#reloads = new Counter({
      name: 'pinhole_policy_reloads_total',
      help: 'Policy reloads by result: ok, invalid (the file did not validate; the previous policy stays in force), error.',
      labelNames: ['result'],
      registers,
    });
    this.#tlsReloads = new Counter({
      name: 'pinhole_tls_reloads_total',
      help: 'Reloads of the TLS files (CA bundle, server certificate and key, CRL) by result: ok (swapped), unchanged, invalid (refused; the previous certificates keep serving and the log names the file).',
      labelNames: ['result'],
      registers,
    });
    this.#gauges(registers);
    if (options.processMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges with a counter's suffix (promtool rejects them); prom-client also exports each without it.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ]) {
        this.registry.removeSingleMetric(name);
      }
    }
  }

  #gauges(registers: Registry[]): void {
    // collect() runs with `this` bound to the gauge; the sources are reached through this closure.
    const current = (): MetricSources | undefined => this.#sources;
    const simple = (
      name: string,
      help: string,
      read: (s: MetricSources) => number | Promise<number>,
    ): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const s = current();
          if (s === undefined) return;
          try {
            this.set(await read(s));
          } catch {
            // The store is down (pinhole_store_up says so): keep the last value, still serve the rest.
          }
        },
      });
    };
    simple('pinhole_leases_live', 'Leases granted and not yet ended.', (s) => s.liveLeases());
    simple('pinhole_approvals_pending', 'Requests waiting for an admin decision.', (s) =>
      s.pendingApprovals(),
    );
    simple('pinhole_watch_subscribers', 'Open lease streams (Watch).', (s) => s.watchSubscribers());
    simple('pinhole_watch_queued_events', 'Events queued across all lease-stream subscribers.', (s) =>
      s.watchQueuedEvents(),
    );
    simple('pinhole_store_revision', 'The latest committed revision.', (s) => s.storeRevision());
    simple(
      'pinhole_store_up',
      '1 while the store answers the health probe, else 0 (grpc.health.v1 NOT_SERVING).',
      (s) => (s.storeUp() ? 1 : 0),
    );
    const crls = (): readonly { readonly ca: string; readonly nextUpdate: Date }[] =>
      this.#crlExpiries?.() ?? [];
    new Gauge({
      name: 'pinhole_tls_crl_expiry_seconds',
      help: 'Seconds until each CRL in use passes its nextUpdate, by issuing CA; negative once past, when TLS refuses every client of that CA until a new CRL is written (pinhole certs crl). No series without a CRL.',
      labelNames: ['ca'],
      registers,
      collect() {
        this.reset();
        const nowMs = Date.now();
        for (const c of crls()) this.set({ ca: c.ca }, (c.nextUpdate.getTime() - nowMs) / 1000);
      },
    });
    new Gauge({
      name: 'pinhole_enforcer_compliant',
      help: '1 if the enforcer reported within 3 heartbeats without error, else 0; one series per enforcer known to policy or reporting.',
      labelNames: ['enforcer'],
      registers,
      collect() {
        this.reset();
        for (const e of current()?.enforcers() ?? []) this.set({ enforcer: e.name }, e.compliant ? 1 : 0);
      },
    });
    new Gauge({
      name: 'pinhole_enforcer_applied_revision',
      help: 'The revision each enforcer last reported applied; compare with pinhole_store_revision for lag.',
      labelNames: ['enforcer'],
      registers,
      collect() {
        this.reset();
        for (const e of current()?.enforcers() ?? []) this.set({ enforcer: e.name }, e.appliedRevision);
      },
    });
  }

  /** Connects the gauges to the running parts. */
  bind(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** The CRLs in use (server/identity/tls-runtime.ts), read at scrape time. */
  bindCrls(read: () => readonly { readonly ca: string; readonly nextUpdate: Date }[]): void {
    this.#crlExpiries = read;
  }

  /** Called by the rpc layer once per request; `seconds` only for unary calls. */
  observeRequest(method: string, outcome: string, seconds: number | undefined): void {
    this.#requests.inc({ method, outcome });
    if (seconds !== undefined) this.#requestDuration.observe({ method, outcome }, seconds);
  }

  observeCommit(outcome: CommitOutcome, seconds: number): void {
    this.#commitDuration.observe({ outcome }, seconds);
  }

  countReload(result: ReloadResult): void {
    this.#reloads.inc({ result });
  }

  countTlsReload(result: 'ok' | 'unchanged' | 'invalid'): void {
    this.#tlsReloads.inc({ result });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
