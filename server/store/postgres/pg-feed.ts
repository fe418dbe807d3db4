/**
 * The cross-server commit feed. Every commit that changes leases NOTIFYs `pinhole_commit`; each
 * server LISTENs on a dedicated connection and, on a wake-up, reads `events` after the last
 * revision it delivered, in revision order. The events table is the truth and NOTIFY only a
 * wake-up: a lost notification (the LISTEN connection dropped, the database restarted) costs at
 * most one poll interval, because the feed also polls every `pollMs`, and after a reconnect it
 * re-reads from the last delivered revision. Delivery is exactly once per revision, in order.
 */
import pg from 'pg';
import type { Pool } from 'pg';
import type { Logger } from '../../log.js';
import type { StoredEvent } from '../store.js';
import { describeDbError } from './pg-errors.js';
import { feedPage } from './pg-reads.js';

export const COMMIT_CHANNEL = 'pinhole_commit';

export interface CommitFeedOptions {
  readonly pool: Pool;
  /** Connection settings for the LISTEN connection (not pooled: it must stay open). */
  readonly connection: pg.ClientConfig;
  /** The revision already delivered (the head at open): the feed starts after it. */
  readonly from: number;
  /** Called once per revision, in revision order. */
  readonly deliver: (events: readonly StoredEvent[]) => void;
  readonly pollMs?: number;
  readonly log?: Logger;
}

/** Revisions read per query; a feed far behind catches up in pages of this many. */
const PAGE_REVISIONS = 1000;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

export class CommitFeed {
  readonly #o: CommitFeedOptions;
  readonly #timer: NodeJS.Timeout;
  /** The last revision handed to `deliver`; every revision up to it has been delivered once. */
  #delivered: number;
  #listener: pg.Client | undefined;
  #reconnectMs = RECONNECT_MIN_MS;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #readAgain = false;
  #closed = false;

  constructor(o: CommitFeedOptions) {
    this.#o = o;
    this.#delivered = o.from;
    this.#timer = setInterval(() => {
      this.wake();
    }, o.pollMs ?? 1000);
    this.#timer.unref();
  }

  get delivered(): number {
    return this.#delivered;
  }

  /** Opens the LISTEN connection. Failing here is not fatal: the feed polls and keeps reconnecting. */
  async start(): Promise<void> {
    await this.#listen();
  }

  /**
   * Delivers a local commit's revisions without a read when nothing is missing before them
   * (`start` is the revision the batch found under its lock). Otherwise wakes the reader,
   * which delivers them in order after the revisions other servers committed first.
   */
  deliverLocal(start: number, events: readonly (readonly StoredEvent[])[]): void {
    if (this.#closed || events.length === 0) return;
    if (start !== this.#delivered) {
      this.wake();
      return;
    }
    for (const group of events) this.#deliverGroup(group);
  }

  /** Reads whatever was committed after the last delivered revision (single flight). */
  wake(): void {
    if (this.#closed) return;
    if (this.#reading !== undefined) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#readLoop().finally(() => {
      this.#reading = undefined;
      if (this.#readAgain && !this.#closed) {
        this.#readAgain = false;
        this.wake();
      }
    });
  }

  /** Resolves once everything committed before the call has been delivered (or the read failed). */
  async catchUp(): Promise<void> {
    this.wake(); // starts a read, or marks the one in flight (which may predate the call) to run again
    while (this.#reading !== undefined) await this.#reading;
  }

  async #readLoop(): Promise<void> {
    try {
      let cursor = this.#delivered;
      for (;;) {
        const page = await feedPage(this.#o.pool, cursor, PAGE_REVISIONS);
        if (this.#closed) return;
        let group: StoredEvent[] = [];
        for (const e of page.events) {
          if (group.length > 0 && group[0]?.revision !== e.revision) {
            this.#deliverGroup(group);
            group = [];
          }
          group.push(e);
        }
        if (group.length > 0) this.#deliverGroup(group);
        const end = cursor + PAGE_REVISIONS;
        if (page.head <= end) return;
        cursor = Math.max(end, this.#delivered);
      }
    } catch (error) {
      // The next wake-up or poll retries from the last delivered revision; nothing is skipped.
      this.#o.log?.debug(
        { err: describeDbError(error) },
        'commit feed read failed; retrying at the next poll',
      );
    }
  }

  #deliverGroup(group: readonly StoredEvent[]): void {
    const revision = group[0]?.revision;
    if (revision === undefined || revision <= this.#delivered) return; // delivered already (local fast path)
    if (revision !== this.#delivered + 1) {
      // Only possible if events this server never read were compacted away (it lagged a whole
      // retention window behind). Watchers resuming from before the gap get RESET from eventsAfter.
      this.#o.log?.warn(
        { from: this.#delivered + 1, to: revision - 1 },
        'commit feed skipped compacted revisions',
      );
    }
    this.#delivered = revision;
    this.#o.deliver(group);
  }

  async #listen(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client(this.#o.connection);
    this.#listener = client;
    let lost = false;
    const onLost = (error?: Error): void => {
      if (lost) return;
      lost = true;
      if (this.#listener === client) this.#listener = undefined;
      client.end().catch(() => undefined);
      if (this.#closed) return;
      this.#o.log?.warn(
        {
          err: error === undefined ? 'connection ended' : describeDbError(error),
          retryMs: this.#reconnectMs,
        },
        'commit feed lost its LISTEN connection; reconnecting',
      );
      this.#scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => {
      onLost();
    });
    client.on('notification', (n) => {
      if (n.channel === COMMIT_CHANNEL) this.wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${COMMIT_CHANNEL}`);
      this.#reconnectMs = RECONNECT_MIN_MS;
      // Whatever was committed while we were not listening.
      this.wake();
    } catch (error) {
      onLost(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #scheduleReconnect(): void {
    if (this.#reconnectTimer !== undefined || this.#closed) return;
    const delay = this.#reconnectMs;
    this.#reconnectMs = Math.min(RECONNECT_MAX_MS, this.#reconnectMs * 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      void this.#listen();
    }, delay);
    this.#reconnectTimer.unref();
  }

  /** Stops polling and listening; waits for a read in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    const client = this.#listener;
    this.#listener = undefined;
    await Promise.all([this.#reading, client?.end().catch(() => undefined)]);
  }
}
