/**
 * `GET /api/events`: Server-Sent Events that tell open consoles "something you show changed",
 * never the data itself (the console re-reads through the audited API). One feed per HTTP
 * server, shared by every console:
 *  - lease commits arrive at once through `store.onCommit`;
 *  - pending requests, enforcer reports and the request log have no commit feed of their own
 *    (a deny or a heartbeat changes no lease), so a 2 s poll compares cheap signatures.
 * Signals are coalesced and sent at most every 250 ms (≤ 4/s): a burst of grants is one event.
 */
import type { ServerResponse } from 'node:http';
import type { Store } from '../store/store.js';
import type { EnforcerRegistry } from '../watch/enforcer-registry.js';
import { readChainHead } from '../audit/verify.js';

export type ChangeKind = 'leases' | 'pending' | 'enforcers' | 'audit';

export interface ChangeFeedOptions {
  readonly store: Store;
  readonly registry: EnforcerRegistry;
  /** Default 250 ms: at most four events a second. */
  readonly minIntervalMs?: number;
  /** Default 2,000 ms. */
  readonly pollMs?: number;
  /** Comment lines keep idle connections through proxies and let dead ones be noticed. Default 15 s. */
  readonly keepAliveMs?: number;
}

/** Audit records read per poll; more than this many new ones in 2 s simply counts as a change. */
const AUDIT_PAGE = 1000;

export class ChangeFeed {
  readonly #o: Required<ChangeFeedOptions>;
  readonly #clients = new Set<ServerResponse>();
  readonly #kinds = new Set<ChangeKind>();
  readonly #unlisten: () => void;
  #flushTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #lastSentMs = 0;
  #polling = false;
  #closed = false;
  // Signatures from the previous poll; undefined until the first poll has seen the state.
  #pendingSig: string | undefined;
  #enforcerSig: string | undefined;
  #auditSeq: number;

  constructor(o: ChangeFeedOptions) {
    this.#o = { minIntervalMs: 250, pollMs: 2000, keepAliveMs: 15_000, ...o };
    this.#unlisten = o.store.onCommit(() => {
      this.signal('leases');
    });
    // Start at the recorded chain head (not seq 0) so the first poll does not page the whole log.
    const headFile = o.store.chainHeadFile;
    this.#auditSeq = headFile === undefined ? 0 : (readChainHead(headFile)?.seq ?? 0);
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Takes over `res` as an event stream until the client goes away or the feed closes. */
  attach(res: ServerResponse): void {
    if (this.#closed) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies such as nginx buffer responses unless told not to; events must arrive now.
      'x-accel-buffering': 'no',
    });
    // `retry` sets EventSource's reconnect delay; the first event lets the console load at once.
    res.write(
      `retry: 2000\nevent: changed\ndata: ${JSON.stringify({ kinds: ['hello'], revision: this.#o.store.revision })}\n\n`,
    );
    this.#clients.add(res);
    res.on('close', () => {
      this.#clients.delete(res);
      if (this.#clients.size === 0) this.#stopTimers();
    });
    this.#startTimers();
  }

  /** Notes a change; the next event goes out after the throttle interval. */
  signal(kind: ChangeKind): void {
    if (this.#closed || this.#clients.size === 0) return;
    this.#kinds.add(kind);
    if (this.#flushTimer !== undefined) return;
    const wait = Math.max(0, this.#lastSentMs + this.#o.minIntervalMs - Date.now());
    this.#flushTimer = setTimeout(() => {
      this.#flush();
    }, wait);
    this.#flushTimer.unref();
  }

  #flush(): void {
    this.#flushTimer = undefined;
    if (this.#kinds.size === 0) return;
    const data = JSON.stringify({ kinds: [...this.#kinds].sort(), revision: this.#o.store.revision });
    this.#kinds.clear();
    this.#lastSentMs = Date.now();
    for (const res of this.#clients) {
      // A client that is not reading gets no more queued: "changed" is idempotent, so skipping
      // while its socket is full loses nothing but repetition, and memory stays bounded.
      if (res.writableNeedDrain) continue;
      res.write(`event: changed\ndata: ${data}\n\n`);
    }
  }

  #startTimers(): void {
    if (this.#pollTimer !== undefined) return;
    // Take the baseline now, not 2 s from now: the console loads everything on the hello
    // event, so a change after this point must be signalled, not absorbed into the baseline.
    void this.#poll();
    this.#pollTimer = setInterval(() => {
      void this.#poll();
    }, this.#o.pollMs);
    this.#pollTimer.unref();
    this.#keepAliveTimer = setInterval(() => {
      for (const res of this.#clients) if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
    }, this.#o.keepAliveMs);
    this.#keepAliveTimer.unref();
  }

  #stopTimers(): void {
    clearInterval(this.#pollTimer);
    clearInterval(this.#keepAliveTimer);
    this.#pollTimer = undefined;
    this.#keepAliveTimer = undefined;
    // Forget what was seen: a console that connects later compares against fresh state.
    this.#pendingSig = undefined;
    this.#enforcerSig = undefined;
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed) return;
    this.#polling = true;
    try {
      const pending = (await this.#o.store.listPending('waiting'))
        .map((p) => p.id)
        .sort()
        .join(',');
      if (this.#pendingSig !== undefined && pending !== this.#pendingSig) this.signal('pending');
      this.#pendingSig = pending;
      const enforcers = JSON.stringify(this.#o.registry.list());
      if (this.#enforcerSig !== undefined && enforcers !== this.#enforcerSig) this.signal('enforcers');
      this.#enforcerSig = enforcers;
      if (await this.#auditChanged()) this.signal('audit');
    } catch {
      // A store hiccup (UNAVAILABLE) only delays the next signal; the next poll tries again.
    } finally {
      this.#polling = false;
    }
  }

  /**
   * New request-log records other than the console's own reads. Every admin API call is itself
   * audited ('admin' records); counting those would make each refresh trigger the next one.
   */
  async #auditChanged(): Promise<boolean> {
    const records = await this.#o.store.auditRecords({ afterSeq: this.#auditSeq, limit: AUDIT_PAGE });
    const last = records.at(-1);
    if (last === undefined) return false;
    this.#auditSeq = last.seq;
    return records.length === AUDIT_PAGE || records.some((r) => r.action !== 'admin');
  }

  /** Ends every stream (so the HTTP server can close) and stops listening. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unlisten();
    clearTimeout(this.#flushTimer);
    this.#stopTimers();
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }
}
