/**
 * The firewall agent: watches the leases in its scope, applies them to an enforcer in batches
 * (one transaction each), reconciles on start, after every (re)connect and periodically, and
 * reports applied revision, errors, tamper events and usage counters to the server.
 *
 * Fail-closed: a failed apply is retried, never widened; kernel timeouts close openings even
 * when this process or the server is gone.
 */
import { status, type ChannelOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Enforcer, ReconcileReport } from '../enforcer/types.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import type { TamperWatch, WatchTamperOptions } from '../enforcer/tamper-watch.js';
import { watchClient, type ClientTls, type LeaseWatchClient } from '../wire.js';
import { LeaseState } from './lease-state.js';
import { readAgentState, writeAgentState } from './state-file.js';
import { PROGRESS_THRESHOLD, type AgentMetricsHooks } from './metrics-hooks.js';

/** A backend that can watch its own kernel state for outside changes (NftEnforcer). */
interface TamperAware {
  watchTamper(options: WatchTamperOptions): TamperWatch;
}

function isTamperAware(e: Enforcer): e is Enforcer & TamperAware {
  return typeof (e as Partial<TamperAware>).watchTamper === 'function';
}

export type AgentLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface AgentOptions {
  /** host:port of a Pinhole server. */
  readonly server: string;
  /** The firewall's certificate (role firewall). */
  readonly tls: ClientTls;
  readonly enforcer: Enforcer;
  /** Narrower than policy's scope, or empty for all of it. */
  readonly scope?: { readonly hosts?: readonly string[]; readonly groups?: readonly string[] };
  /** Reported to the server: `host` or `gateway`. */
  readonly mode: string;
  /** Reported to the server: `nftables` or `command`. */
  readonly backend: string;
  readonly channelOptions?: ChannelOptions;
  /** How long events gather before one apply. Default 5 ms. */
  readonly batchWindowMs?: number;
  /**
   * How long renewals alone gather (a lease already applied, same rules, end still far off). Default
   * 250 ms: a steady stream of renewals then costs a few nft runs a second instead of one per event,
   * so a new grant seldom finds an apply in progress (it cannot overtake one) and gets more CPU.
   * Any other change flushes within `batchWindowMs`, taking the pending renewals along.
   */
  readonly renewalBatchWindowMs?: number;
  /** Full reconcile against the kernel. Default 30 s. */
  readonly reconcileIntervalMs?: number;
  /** Tamper probe interval (nftables). Default 250 ms. */
  readonly tamperIntervalMs?: number;
  readonly log?: AgentLog;
  /** Where to keep the resume point (epoch, applied revision, leases) across restarts. */
  readonly stateFile?: string;
  /** Metrics hooks (apply latency, applied revision, tamper events, enforcer errors); see AgentMetrics. */
  readonly metrics?: AgentMetricsHooks;
}

type Phase = 'idle' | 'running' | 'closing' | 'closed';

/** Usage counters go with the first report and then at most this often (ms). */
const COUNTERS_EVERY_MS = 60_000;

export class FirewallAgent {
  readonly #o: AgentOptions;
  readonly #client: LeaseWatchClient;
  readonly #state = new LeaseState();
  readonly #log: AgentLog;
  #phase: Phase = 'idle';
  #stream: ClientReadableStream<WatchEvent__Output> | undefined;
  #epoch = '';
  #applied = 0;
  #lastError = '';
  #tamper: string[] = [];
  #appliedIds: string[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  /** When #flushTimer fires (performance.now() ms). */
  #flushDue = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #tamperWatch: TamperWatch | undefined;
  #backoffMs = 250;
  #heartbeatMs = 10_000;
  /** Serializes apply/reconcile so batches reach the enforcer in stream order. */
  #chain: Promise<void> = Promise.resolve();
  /** When counters were last read (performance.now() ms); they cost a full kernel listing. */
  #countersAt = -Infinity;
  #saveTimer: NodeJS.Timeout | undefined;
  /** After a resume, check the kernel once the stream has caught up. */
  #reconcileAfterCatchUp = false;
  /** The periodic reconcile in flight, if any (it runs beside #chain, see start()). */
  #periodic: Promise<void> | undefined;

  constructor(options: AgentOptions) {
    this.#o = options;
    this.#client = watchClient(options.server, options.tls, options.channelOptions ?? {});
    this.#log = options.log ?? (() => undefined);
  }

  /** The highest revision applied to the enforcer. */
  get appliedRevision(): number {
    return this.#applied;
  }

  /** Installs the baseline and starts watching. Resolves once the baseline is in place. */
  async start(): Promise<void> {
    if (this.#phase !== 'idle') return;
    this.#phase = 'running';
    // A resumed agent reconciles to what it held (no gap in openings across the restart);
    // a fresh one installs an empty baseline and waits for the snapshot.
    if (this.#loadState()) {
      if (this.#state.desired.size > PROGRESS_THRESHOLD)
        this.#log('info', 'restoring a large lease set into the firewall', {
          leases: this.#state.desired.size,
        });
      await this.#o.enforcer.reconcile(this.#state.desired);
    } else await this.#o.enforcer.init();
    if (isTamperAware(this.#o.enforcer)) {
      this.#tamperWatch = this.#o.enforcer.watchTamper({
        intervalMs: this.#o.tamperIntervalMs ?? 250,
        onTamper: (report) => {
          this.#onTamper(report);
        },
      });
    }
    // Not on #chain: batches (grants) would wait behind the kernel listing, which is seconds at 50k.
    // Enforcers serialise their own calls, and reconcile reads `desired` (a live map, which already
    // holds every batch taken) when its turn comes, so running beside the chain is safe.
    this.#reconcileTimer = setInterval(() => {
      if (this.#periodic !== undefined) return;
      this.#periodic = this.#reconcile('periodic').finally(() => (this.#periodic = undefined));
    }, this.#o.reconcileIntervalMs ?? 30_000);
    this.#reconcileTimer.unref();
    this.#scheduleReport(0);
    this.#connect();
  }

  /** Loads the resume point; true if there was one. */
  #loadState(): boolean {
    if (this.#o.stateFile === undefined) return false;
    const saved = readAgentState(this.#o.stateFile);
    if (saved === undefined) return false;
    this.#epoch = saved.epoch;
    this.#state.received = saved.revision;
    this.#applied = saved.revision;
    for (const l of saved.leases) this.#state.desired.set(l.leaseId, l);
    this.#log('info', 'resuming from saved state', { revision: saved.revision, leases: saved.leases.length });
    return true;
  }

  #saveState(): void {
    if (this.#o.stateFile === undefined || this.#saveTimer !== undefined) return;
    // Debounced: one write per second at most, whatever the event rate.
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      if (this.#o.stateFile === undefined) return;
      try {
        writeAgentState(this.#o.stateFile, {
          epoch: this.#epoch,
          revision: this.#applied,
          leases: [...this.#state.desired.values()],
        });
      } catch (err) {
        this.#log('warn', 'could not save agent state', { err: String(err) });
      }
    }, 1000);
    this.#saveTimer.unref();
  }

  #connect(): void {
    if (this.#phase !== 'running') return;
    const fromRevision = this.#state.resumeFrom();
    if (fromRevision === 0) this.#state.beginSnapshot();
    else this.#reconcileAfterCatchUp = true;
    const stream = this.#client.Watch({
      fromRevision: String(fromRevision),
      scope: { hosts: [...(this.#o.scope?.hosts ?? [])], groups: [...(this.#o.scope?.groups ?? [])] },
    });
    this.#stream = stream;
    this.#log('info', 'watching', { fromRevision });
    stream.on('data', (e: WatchEvent__Output) => {
      this.#o.metrics?.streamConnected?.(true);
      this.#backoffMs = 250;
      this.#onEvent(e);
    });
    stream.on('error', (err: ServiceError) => {
      if (this.#stream !== stream) return;
      this.#stream = undefined;
      this.#o.metrics?.streamConnected?.(false);
      if (this.#phase !== 'running') return;
      this.#onStreamError(err);
    });
    stream.on('end', () => {
      if (this.#stream !== stream || this.#phase !== 'running') return;
      this.#stream = undefined;
      this.#o.metrics?.streamConnected?.(false);
      this.#retryConnect('stream ended');
    });
  }

  #onStreamError(err: ServiceError): void {
    // A server with a new store (new epoch) does not know our revision: start over with a snapshot.
    if (err.code === status.INVALID_ARGUMENT && err.details.includes('from_revision')) {
      this.#state.received = 0;
    }
    if (err.code === status.PERMISSION_DENIED) this.#lastError = `watch refused: ${err.details}`;
    this.#retryConnect(`${status[err.code]}: ${err.details}`);
  }

  #retryConnect(why: string): void {
    const delay = Math.round(this.#backoffMs * (0.5 + Math.random()));
    this.#backoffMs = Math.min(this.#backoffMs * 2, 5000);
    this.#log('warn', 'lease stream lost; reconnecting', {
      why,
      delayMs: delay,
      resumeFrom: this.#state.resumeFrom(),
    });
    this.#reconnectTimer = setTimeout(() => {
      this.#connect();
    }, delay);
    this.#reconnectTimer.unref();
  }

  #onEvent(e: WatchEvent__Output): void {
    if (e.serverEpoch !== '' && e.serverEpoch !== this.#epoch) {
      if (this.#epoch !== '' && !this.#state.inSnapshot) {
        // The server lost its state; its revisions start over. Re-sync from a snapshot.
        this.#log('warn', 'server epoch changed; resynchronizing', { from: this.#epoch, to: e.serverEpoch });
        this.#epoch = e.serverEpoch;
        this.#state.received = 0;
        this.#stream?.cancel();
        return;
      }
      this.#epoch = e.serverEpoch;
    }
    if (e.type === 'RESET')
      this.#log('warn', 'the server no longer retains our revision; re-syncing from a snapshot', {
        revision: e.revision,
      });
    const result = this.#state.step(e, Date.now());
    if (result === 'snapshot-complete') {
      const revision = this.#state.received;
      void this.#enqueue(async () => {
        await this.#reconcile('snapshot');
        this.#markApplied(revision, [...this.#state.desired.keys()]);
      });
    } else if (result === 'changed') {
      this.#scheduleFlush();
    } else if (result === 'renewed') {
      this.#scheduleFlush(this.#o.renewalBatchWindowMs ?? 250);
    } else if (e.type === 'PROGRESS' && !this.#state.inSnapshot) {
      this.#scheduleFlush();
      if (this.#reconcileAfterCatchUp) {
        this.#reconcileAfterCatchUp = false;
        void this.#enqueue(() => this.#reconcile('reconnect'));
      }
    }
  }

  /** Flushes within `windowMs`, or sooner if a flush is already due sooner. */
  #scheduleFlush(windowMs = this.#o.batchWindowMs ?? 5): void {
    if (this.#phase === 'closing' || this.#phase === 'closed') return;
    const due = performance.now() + windowMs;
    if (this.#flushTimer !== undefined) {
      if (this.#flushDue <= due) return;
      clearTimeout(this.#flushTimer);
    }
    this.#flushDue = due;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#enqueue(() => this.#flush());
    }, windowMs);
    // The lease stream keeps the process alive while the agent runs; a pending flush never should.
    this.#flushTimer.unref();
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    this.#chain = this.#chain.then(task).catch((err: unknown) => {
      this.#log('error', 'agent task failed', { err: String(err) });
    });
    return this.#chain;
  }

  async #flush(): Promise<void> {
    const revision = this.#state.received;
    const batch = this.#state.takeBatch();
    if (batch === undefined) {
      this.#markApplied(revision, []);
      return;
    }
    const size = { upserts: batch.upserts.length, deletes: batch.deletes.length };
    const large = size.upserts + size.deletes > PROGRESS_THRESHOLD;
    if (large) this.#log('info', 'applying a large batch', { ...size, revision });
    const started = performance.now();
    try {
      await this.#o.enforcer.apply(batch);
      const seconds = (performance.now() - started) / 1000;
      this.#o.metrics?.applied?.({ kind: 'batch', seconds, ...size });
      if (large)
        this.#log('info', 'large batch applied', {
          ...size,
          ms: Math.round(seconds * 1000),
          perSecond: Math.round((size.upserts + size.deletes) / seconds),
        });
      this.#markApplied(
        revision,
        batch.upserts.map((l) => l.leaseId),
      );
    } catch (err) {
      this.#o.metrics?.enforcerError?.('batch');
      this.#state.restoreBatch(batch);
      this.#lastError = `apply failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#log('error', 'apply failed; retrying (nothing was applied)', { err: this.#lastError });
      this.#scheduleReport(0);
      // The flush timer, so close() cancels the retry (a stray timer would retry on a closed enforcer).
      this.#scheduleFlush(1000);
    }
  }

  #markApplied(revision: number, leaseIds: string[]): void {
    const changed = revision > this.#applied || leaseIds.length > 0 || this.#lastError !== '';
    this.#applied = Math.max(this.#applied, revision);
    this.#appliedIds.push(...leaseIds);
    this.#lastError = '';
    this.#o.metrics?.appliedRevision?.(this.#applied, this.#state.desired.size);
    this.#saveState();
    // Report soon after an apply so the server can mark leases realized.
    if (changed) this.#scheduleReport(20);
  }

  async #reconcile(why: string): Promise<void> {
    if (this.#state.inSnapshot) return;
    const leases = this.#state.desired.size;
    const large = leases > PROGRESS_THRESHOLD;
    if (large) this.#log('info', 'reconciling a large lease set against the firewall', { why, leases });
    const started = performance.now();
    try {
      const report = await this.#o.enforcer.reconcile(this.#state.desired);
      const seconds = (performance.now() - started) / 1000;
      this.#o.metrics?.applied?.({
        kind: 'reconcile',
        seconds,
        upserts: report.missing,
        deletes: report.extra,
      });
      if (large)
        this.#log('info', 'large reconcile done', {
          why,
          leases,
          missing: report.missing,
          extra: report.extra,
          ms: Math.round(seconds * 1000),
        });
      if (report.tampered || report.missing > 0 || report.extra > 0) {
        this.#log('info', 'reconciled', { why, ...report });
        if (why !== 'snapshot') {
          this.#tamper.push(...report.events);
          if (report.tampered) this.#o.metrics?.tamper?.(Math.max(1, report.events.length));
        }
      }
      this.#lastError = '';
    } catch (err) {
      this.#o.metrics?.enforcerError?.('reconcile');
      this.#lastError = `reconcile failed: ${err instanceof Error ? err.message : String(err)}`;
      this.#log('error', 'reconcile failed', { err: this.#lastError });
    }
  }

  #onTamper(report: ReconcileReport): void {
    this.#log('warn', 'firewall state changed outside the agent; repaired', { events: report.events });
    this.#o.metrics?.tamper?.(Math.max(1, report.events.length));
    this.#tamper.push(
      ...(report.events.length > 0 ? report.events : ['the pinhole table was changed outside the agent']),
    );
    this.#scheduleReport(0);
  }

  #scheduleReport(delayMs: number): void {
    if (this.#phase !== 'running') return;
    clearTimeout(this.#reportTimer);
    this.#reportTimer = setTimeout(() => void this.#report(), delayMs);
    this.#reportTimer.unref();
  }

  async #report(): Promise<void> {
    const tamper = this.#tamper.splice(0);
    const ids = this.#appliedIds.splice(0);
    // Counters cost a full kernel listing: at most once a minute. (Counting reports, as this once did,
    // meant a listing every few grants under load, since every apply schedules a report.)
    const now = performance.now();
    const due = now - this.#countersAt >= COUNTERS_EVERY_MS;
    if (due) this.#countersAt = now;
    const counters = due ? await this.#o.enforcer.counters().catch(() => []) : [];
    await new Promise<void>((resolve) => {
      this.#client.ReportStatus(
        {
          appliedRevision: String(this.#applied),
          appliedLeaseIds: ids,
          error: this.#lastError,
          tamperEvents: tamper,
          counters: counters.map((c) => ({
            leaseId: c.leaseId,
            packets: String(c.packets),
            bytes: String(c.bytes),
          })),
          backend: this.#o.backend,
          mode: this.#o.mode,
        },
        { deadline: new Date(Date.now() + 5000) },
        (err, res) => {
          if (err !== null) {
            this.#tamper.unshift(...tamper); // not delivered: send again next time
          } else if (res !== undefined && res.heartbeatSeconds > 0) {
            this.#heartbeatMs = res.heartbeatSeconds * 1000;
          }
          resolve();
        },
      );
    });
    this.#scheduleReport(this.#heartbeatMs);
  }

  /** Stops watching and reporting. Leaves the kernel state: openings close by their timeouts. */
  async close(): Promise<void> {
    if (this.#phase === 'closed' || this.#phase === 'closing') return;
    this.#phase = 'closing';
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#reportTimer);
    clearTimeout(this.#saveTimer);
    clearInterval(this.#reconcileTimer);
    this.#tamperWatch?.stop();
    this.#stream?.cancel();
    await this.#chain;
    await this.#periodic;
    await this.#o.enforcer.close();
    this.#client.close();
    this.#phase = 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
