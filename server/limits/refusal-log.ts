/**
 * Request-log records for requests a limit refused (rate limits and quotas), coalesced so that
 * a flood cannot turn the limiter into an fsync amplifier.
 *
 * Per (identity, limit) a window of `windowMs` opens at the first refusal. That first refusal is
 * written at once, as one record naming the identity, the limit, the method, the retry time and
 * the message the caller got. Later refusals in the window only bump a counter in memory; when
 * the window ends (or at close) they become one summary record: the count, the window and the
 * count per method. A host flooding for an hour therefore costs two records a minute, however
 * fast it calls, and the refusal itself stays a map lookup.
 *
 * Memory is bounded: at most `maxTracked` (identity, limit) windows are tracked; refusals of
 * identities beyond that are counted in one overflow window per limit (identity `*`), whose
 * summary says how many identities it stood for (up to `maxTracked` of them are named).
 * Records are written off the request path, batched into one audit-only store commit per tick;
 * a failed write is logged and dropped (the refusal has already been answered).
 */
import type { AuditAction, AuditInput } from '../audit/record.js';

/** One refused request, as the limit that refused it describes it. */
export interface Refusal {
  /** `role/name` of the caller. */
  readonly identity: string;
  /** The limit's configuration key, e.g. `limits.requestsPerSecond`. */
  readonly limit: string;
  /** The refused method (Open, Renew, Release, Watch). */
  readonly method: string;
  /** The retry-after sent with the refusal, ms. */
  readonly retryAfterMs: number;
  /** The message the caller got. */
  readonly message: string;
  /** Peer address, when the limit knows it. */
  readonly peer?: string;
  /** The request id, when the request carried one. */
  readonly requestId?: string;
}

/** Where limits report refusals. */
export interface RefusalSink {
  refused(r: Refusal): void;
}

export interface RefusalLogOptions {
  /** Commits audit-only records (the lease engine's `record`). */
  readonly write: (records: readonly AuditInput[]) => Promise<void>;
  /** Called when a write fails; the records are dropped. */
  readonly onError?: (error: unknown, records: number) => void;
  /** Length of a coalescing window, ms. Default 60,000. */
  readonly windowMs?: number;
  /** Most (identity, limit) windows tracked at once. Default 10,000. */
  readonly maxTracked?: number;
  readonly now?: () => number;
}

/** The action of every record this module writes. */
export const REFUSAL_ACTION: AuditAction = 'limit-refused';

interface Window {
  readonly identity: string;
  readonly limit: string;
  readonly startMs: number;
  /** Refusals after the first (the first was written when the window opened). */
  count: number;
  lastMs: number;
  lastRetryAfterMs: number;
  lastPeer: string;
  readonly methods: Map<string, number>;
  /** Overflow windows only: the distinct identities counted (at most maxTracked named). */
  readonly identities?: Set<string>;
}

type Phase = 'open' | 'closing' | 'closed';

export class RefusalLog implements RefusalSink {
  readonly #write: RefusalLogOptions['write'];
  readonly #onError: NonNullable<RefusalLogOptions['onError']>;
  readonly #windowMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  /** Open windows by `identity\0limit`; Map order is opening order, so the oldest end first. */
  readonly #windows = new Map<string, Window>();
  /** One per limit, for identities past maxTracked. */
  readonly #overflow = new Map<string, Window>();
  /** Records waiting for the next write tick. */
  #pending: AuditInput[] = [];
  #flushScheduled = false;
  readonly #writes = new Set<Promise<void>>();
  readonly #timer: NodeJS.Timeout;
  #phase: Phase = 'open';
  #closing: Promise<void> | undefined;

  constructor(o: RefusalLogOptions) {
    this.#write = o.write;
    this.#onError = o.onError ?? (() => undefined);
    this.#windowMs = o.windowMs ?? 60_000;
    this.#maxTracked = o.maxTracked ?? 10_000;
    this.#now = o.now ?? Date.now;
    // A tenth of the window: a summary is written at most 10% of a window late.
    this.#timer = setInterval(
      () => {
        this.#endDue(this.#now());
      },
      Math.max(10, Math.floor(this.#windowMs / 10)),
    );
    this.#timer.unref();
  }

  /** Windows currently open (a gauge for operators and tests). */
  get tracked(): number {
    return this.#windows.size + this.#overflow.size;
  }

  refused(r: Refusal): void {
    if (this.#phase === 'closed') return;
    const now = this.#now();
    const key = `${r.identity}\0${r.limit}`;
    const open = this.#windows.get(key);
    if (open !== undefined && now - open.startMs < this.#windowMs) {
      this.#count(open, r, now);
      return;
    }
    if (open !== undefined) this.#end(key, open);
    if (this.#windows.size >= this.#maxTracked) {
      let overflow = this.#overflow.get(r.limit);
      if (overflow === undefined) {
        overflow = this.#newWindow('*', r.limit, now, new Set());
        this.#overflow.set(r.limit, overflow);
      }
      if (overflow.identities !== undefined && overflow.identities.size < this.#maxTracked)
        overflow.identities.add(r.identity);
      this.#count(overflow, r, now);
      return;
    }
    this.#windows.set(key, this.#newWindow(r.identity, r.limit, now));
    this.#enqueue({
      atMs: now,
      actor: r.identity,
      peer: r.peer ?? '',
      action: REFUSAL_ACTION,
      requestId: r.requestId ?? '',
      leaseId: '',
      outcome: 'RESOURCE_EXHAUSTED',
      ruleId: '',
      detail: {
        limit: r.limit,
        method: r.method,
        retryAfterMs: r.retryAfterMs,
        message: r.message,
        count: 1,
        windowMs: this.#windowMs,
        note: `further refusals of ${r.identity} by ${r.limit} within ${this.#windowMs} ms are summarised in one record`,
      },
    });
  }

  #newWindow(identity: string, limit: string, now: number, identities?: Set<string>): Window {
    return {
      identity,
      limit,
      startMs: now,
      count: 0,
      lastMs: now,
      lastRetryAfterMs: 0,
      lastPeer: '',
      methods: new Map(),
      ...(identities === undefined ? {} : { identities }),
    };
  }

  #count(w: Window, r: Refusal, now: number): void {
    w.count++;
    w.lastMs = now;
    w.lastRetryAfterMs = r.retryAfterMs;
    if (r.peer !== undefined) w.lastPeer = r.peer;
    w.methods.set(r.method, (w.methods.get(r.method) ?? 0) + 1);
  }

  /** Ends every window older than windowMs; their summaries go out in one write. */
  #endDue(now: number): void {
    for (const [key, w] of this.#windows) {
      // Opening order: once one window is still open, every later one is too.
      if (now - w.startMs < this.#windowMs) break;
      this.#end(key, w);
    }
    for (const [limit, w] of this.#overflow) {
      if (now - w.startMs < this.#windowMs) continue;
      this.#overflow.delete(limit);
      this.#summarise(w, now);
    }
  }

  #end(key: string, w: Window): void {
    this.#windows.delete(key);
    this.#summarise(w, this.#now());
  }

  #summarise(w: Window, now: number): void {
    if (w.count === 0) return;
    this.#enqueue({
      atMs: now,
      actor: w.identity,
      peer: w.lastPeer,
      action: REFUSAL_ACTION,
      requestId: '',
      leaseId: '',
      outcome: 'RESOURCE_EXHAUSTED',
      ruleId: '',
      detail: {
        limit: w.limit,
        summary: true,
        count: w.count,
        windowStartMs: w.startMs,
        windowEndMs: Math.min(now, w.startMs + this.#windowMs),
        lastRefusalMs: w.lastMs,
        lastRetryAfterMs: w.lastRetryAfterMs,
        methods: Object.fromEntries(w.methods),
        ...(w.identities === undefined
          ? {}
          : { identities: [...w.identities].sort(), note: 'identities past the tracking limit' }),
      },
    });
  }

  #enqueue(record: AuditInput): void {
    this.#pending.push(record);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const records = this.#pending;
    this.#pending = [];
    const p = this.#write(records).catch((error: unknown) => {
      this.#onError(error, records.length);
    });
    this.#writes.add(p);
    void p.finally(() => this.#writes.delete(p));
  }

  /**
   * Stops counting, writes the summaries of every open window (the shutdown end of their
   * windows) and waits for the writes. Idempotent; call before the store closes.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#phase = 'closing';
    clearInterval(this.#timer);
    const now = this.#now();
    for (const [key, w] of this.#windows) {
      this.#windows.delete(key);
      this.#summarise(w, now);
    }
    for (const [limit, w] of this.#overflow) {
      this.#overflow.delete(limit);
      this.#summarise(w, now);
    }
    this.#phase = 'closed';
    this.#flush();
    await Promise.all(this.#writes);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
