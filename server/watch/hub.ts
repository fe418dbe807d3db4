/**
 * The subscription hub: a snapshot or a resume from a revision, then live events, per
 * subscriber filtered by scope. Live events come from the store's commit feed; catch-up reads
 * come from the store's event log, so a resume is exact: no gap and no duplicate. A resume whose
 * events are no longer retained, or would not fit the subscriber's queue, gets RESET and a snapshot.
 *
 * The contract a subscriber sees (test/hardening/watch-robustness.test.ts checks it): revisions
 * never go back, and a revision's events come together, before any later revision's; PROGRESS r
 * means everything in scope up to r was sent; a snapshot (after subscribing from 0, or after
 * RESET) is the scope's live set at the revision of the PROGRESS that ends it. The one event a
 * subscriber may not see is a live UPSERT that a newer UPSERT of the same lease superseded while
 * both were queued (subscription.ts): the newer state is delivered instead, so a revision made
 * only of superseded upserts may be skipped entirely.
 */
import type { Lease } from '../core/types.js';
import { PinholeError } from '../core/errors.js';
import type { Store, StoredEvent } from '../store/store.js';
import { Subscription } from './subscription.js';
import { failpoint } from '../failpoints.js';

export interface HubOptions {
  readonly store: Store;
  /** Max queued events per subscriber before it is cut. Default 10,000. */
  readonly queueLimit?: number;
  /** PROGRESS heartbeat interval, ms. Default 5,000. */
  readonly progressIntervalMs?: number;
}

export interface SubscribeOptions {
  /** 0 = snapshot first. */
  readonly fromRevision: number;
  /** Which leases this subscriber sees. */
  readonly inScope: (lease: Lease) => boolean;
}

const CATCH_UP_PAGE = 5000;
/** Leases per store read while building a snapshot. */
const SNAPSHOT_PAGE = 1000;
const all = (): boolean => true;

export class WatchHub {
  readonly #store: Store;
  readonly #queueLimit: number;
  readonly #subs = new Map<Subscription, (lease: Lease) => boolean>();
  readonly #unlisten: () => void;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(o: HubOptions) {
    this.#store = o.store;
    this.#queueLimit = o.queueLimit ?? 10_000;
    this.#unlisten = o.store.onCommit((events) => {
      this.#fanOut(events);
    });
    this.#timer = setInterval(() => {
      this.#progress();
    }, o.progressIntervalMs ?? 5000);
    this.#timer.unref();
  }

  get subscriberCount(): number {
    return this.#subs.size;
  }

  /** Total queued events across subscribers (a gauge for operators). */
  get queuedEvents(): number {
    let n = 0;
    for (const s of this.#subs.keys()) n += s.depth;
    return n;
  }

  async subscribe(o: SubscribeOptions): Promise<Subscription> {
    if (this.#closed)
      throw new PinholeError('UNAVAILABLE', 'the server is shutting down; reconnect to another server', {
        retryAfterMs: 1000,
      });
    // A firewall failing over from another server may know a revision this one has not read yet.
    if (o.fromRevision > this.#store.revision) await this.#store.catchUp?.();
    if (o.fromRevision > this.#store.revision) {
      throw new PinholeError(
        'INVALID_ARGUMENT',
        `from_revision: ${o.fromRevision} is ahead of this store (at ${this.#store.revision}); the store was replaced — resume with 0 for a snapshot`,
        { field: 'from_revision' },
      );
    }
    // Buffer live events from now on, so nothing committed during catch-up is lost.
    const buffered: StoredEvent[] = [];
    let live = false;
    const sub = new Subscription(this.#queueLimit, () => this.#subs.delete(sub));
    const deliverLive = (events: readonly StoredEvent[]): void => {
      if (live) this.#deliver(sub, o.inScope, events);
      else buffered.push(...events);
    };
    const unlisten = this.#store.onCommit(deliverLive);
    try {
      let sent = await this.#catchUp(sub, o, buffered);
      for (const e of buffered) {
        if (e.revision > sent) {
          this.#deliver(sub, o.inScope, [e]);
          sent = e.revision;
        }
      }
      live = true;
    } finally {
      unlisten();
    }
    this.#subs.set(sub, o.inScope);
    return sub;
  }

  /**
   * Snapshot (from 0 or after compaction) or replay from the event log. Returns the last revision sent.
   *
   * A replay is pushed only once it is known to fit the subscriber's queue: the queue counts
   * live events and nothing reads it before subscribe() returns, so a backlog over the limit
   * used to cut the stream with RESOURCE_EXHAUSTED before a single event left, and the resume
   * from the same revision was cut the same way until compaction caught up (a livelock for a
   * firewall back from an outage on a busy site). A backlog that does not fit is answered like
   * a compacted one: RESET and a snapshot, which the limit does not count.
   */
  async #catchUp(sub: Subscription, o: SubscribeOptions, buffered: readonly StoredEvent[]): Promise<number> {
    let after = o.fromRevision;
    if (after > 0) {
      const backlog: StoredEvent[] = [];
      for (;;) {
        const page = await this.#store.eventsAfter(after, CATCH_UP_PAGE);
        if (page === 'compacted') return this.#reset(sub, o, buffered);
        for (const e of page) if (o.inScope(e.lease)) backlog.push(e);
        // Holding at most one limit (plus a page) of events, whatever the log holds.
        if (backlog.length > this.#queueLimit) return this.#reset(sub, o, buffered);
        const last = page.at(-1);
        if (last !== undefined) after = last.revision;
        if (page.length < CATCH_UP_PAGE) {
          this.#deliver(sub, all, backlog);
          sub.push({ type: 'PROGRESS', revision: Math.max(after, o.fromRevision) });
          return after;
        }
      }
    }
    return this.#snapshot(sub, o, buffered);
  }

  #reset(sub: Subscription, o: SubscribeOptions, buffered: readonly StoredEvent[]): Promise<number> {
    sub.push({ type: 'RESET', revision: this.#store.revision });
    return this.#snapshot(sub, o, buffered);
  }

  /**
   * The scope's live set, read from the store a page at a time (the store is never read whole,
   * whatever its size or the scope's), queued as it is read. Returns the snapshot's revision.
   *
   * Commits land between pages, so the pages are not one read at one revision. Every row last
   * changed at or before `from` (the revision when the read began) is still as it was at `from`;
   * the leases changed since are exactly those in `buffered` (the commit feed since before
   * `from`). So the snapshot is taken at the newest buffered revision instead: rows changed
   * after `from` are skipped while paging, a lease queued before a commit changed it is withdrawn,
   * and each changed lease is queued at its newest state if live and in scope.
   */
  async #snapshot(sub: Subscription, o: SubscribeOptions, buffered: readonly StoredEvent[]): Promise<number> {
    const from = this.#store.revision;
    /** Sequence numbers of the queued leases, by id, to withdraw one a commit changed. */
    const queued = new Map<string, number>();
    let afterId = '';
    for (;;) {
      const page = await this.#store.listLeases({ afterId, limit: SNAPSHOT_PAGE });
      for (const lease of page) {
        if (lease.revision <= from && o.inScope(lease)) queued.set(lease.id, sub.addToSnapshot(lease));
        failpoint('mid-snapshot');
      }
      const last = page.at(-1);
      if (last === undefined || page.length < SNAPSHOT_PAGE) break;
      afterId = last.id;
    }
    // A shared database (postgres) may have shown rows whose events this server has not yet had.
    await this.#store.catchUp?.();
    let revision = from;
    const changed = new Map<string, StoredEvent>();
    for (const e of buffered) {
      if (e.revision <= from) continue;
      changed.set(e.lease.id, e);
      revision = Math.max(revision, e.revision);
    }
    for (const [id, e] of changed) {
      const seq = queued.get(id);
      if (seq !== undefined) sub.withdraw(seq);
      if (e.type === 'UPSERT' && e.lease.state !== 'ended' && o.inScope(e.lease)) sub.addToSnapshot(e.lease);
    }
    sub.endSnapshot(revision);
    return revision;
  }

  #deliver(sub: Subscription, inScope: (l: Lease) => boolean, events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (!inScope(e.lease)) continue;
      if (e.type === 'UPSERT')
        sub.push({ type: 'UPSERT', revision: e.revision, lease: e.lease, snapshot: false });
      else sub.push({ type: 'DELETE', revision: e.revision, lease: e.lease, reason: e.reason ?? 'expired' });
    }
  }

  #fanOut(events: readonly StoredEvent[]): void {
    for (const [sub, inScope] of this.#subs) this.#deliver(sub, inScope, events);
  }

  #progress(): void {
    const revision = this.#store.revision;
    for (const sub of this.#subs.keys()) sub.push({ type: 'PROGRESS', revision });
  }

  /** Ends every stream with UNAVAILABLE so agents reconnect (elsewhere) and resume. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unlisten();
    const error = new PinholeError(
      'UNAVAILABLE',
      'the server is shutting down; reconnect and resume from your last revision',
      {
        retryAfterMs: 500,
      },
    );
    for (const sub of [...this.#subs.keys()]) sub.fail(error);
    return Promise.resolve();
  }
}
