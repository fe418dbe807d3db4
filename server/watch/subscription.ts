/**
 * One subscriber's bounded queue. Superseded UPSERTs of a lease are coalesced (a renewal
 * storm costs one event per lease per drain, not one per renewal); a subscriber whose queue
 * still overflows is cut with RESOURCE_EXHAUSTED and resumes from its last revision.
 *
 * Every operation is O(1): the queue is an array read from a head index (Array#shift is O(n)
 * past ~16k elements in V8, which made a 100k-lease snapshot quadratic), and a superseded
 * UPSERT is found through a map and left as a hole instead of being searched for and spliced.
 * The limit bounds live events only: a snapshot is bounded by the store, not by how fast the
 * subscriber reads, and counting it made any scope larger than the limit impossible to sync.
 *
 * A snapshot is built in the queue before the subscriber reads (hub.ts): its leases are added as
 * the store is paged, a lease that a commit changed meanwhile is withdrawn, and only at the end is
 * the revision it is the live set at known; its UPSERTs carry that revision when they are taken.
 */
import { PinholeError } from '../core/errors.js';
import type { Lease } from '../core/types.js';
import type { WatchItem } from './events.js';

/** A lease of the snapshot being built, before its revision is known. */
interface SnapshotEntry {
  readonly type: 'SNAPSHOT';
  readonly lease: Lease;
}
type Entry = WatchItem | SnapshotEntry;
const isLive = (e: Entry): boolean => !(e.type === 'SNAPSHOT' || (e.type === 'UPSERT' && e.snapshot));

export class Subscription implements AsyncIterableIterator<WatchItem> {
  readonly #limit: number;
  readonly #onClose: () => void;
  /** Items from #head on; superseded ones are holes (undefined). Index = sequence - #base. */
  #queue: (Entry | undefined)[] = [];
  #head = 0;
  #base = 0;
  /** Queued items (holes excluded), and of those the live (non-snapshot) ones. */
  #size = 0;
  #live = 0;
  /** Sequence number of each lease's queued live UPSERT. */
  readonly #upsertAt = new Map<string, number>();
  #waiter: ((r: IteratorResult<WatchItem>) => void) | undefined;
  #failer: ((e: unknown) => void) | undefined;
  #error: PinholeError | undefined;
  #closed = false;
  /** Highest revision handed to the consumer (for the cut message). */
  #delivered = 0;
  /** The revision of the snapshot's UPSERTs; set by endSnapshot(), read by #take(). */
  #snapshotRevision = 0;

  constructor(limit: number, onClose: () => void) {
    this.#limit = limit;
    this.#onClose = onClose;
  }

  get depth(): number {
    return this.#size;
  }

  push(item: WatchItem): void {
    if (this.#closed || this.#error !== undefined) return;
    if (this.#waiter !== undefined) {
      const w = this.#waiter;
      this.#waiter = undefined;
      this.#failer = undefined;
      this.#delivered = item.revision;
      w({ value: item, done: false });
      return;
    }
    const live = isLive(item);
    if (item.type === 'UPSERT' && !item.snapshot) {
      const at = this.#upsertAt.get(item.lease.id);
      if (at !== undefined) this.#drop(at); // the newer state supersedes it; order stays by revision
      this.#upsertAt.set(item.lease.id, this.#base + this.#queue.length);
    }
    if (
      item.type === 'PROGRESS' &&
      this.#queue.length > this.#head &&
      this.#queue.at(-1)?.type === 'PROGRESS'
    ) {
      this.#drop(this.#base + this.#queue.length - 1);
    }
    this.#queue.push(item);
    this.#size++;
    if (live) this.#live++;
    if (this.#live > this.#limit) {
      this.fail(
        new PinholeError(
          'RESOURCE_EXHAUSTED',
          `watch queue overflowed (${this.#limit} events): the subscriber fell behind; resume from your last applied revision (delivered up to ${this.#delivered})`,
          { retryAfterMs: 1000 },
        ),
      );
    }
  }

  /**
   * Queues a lease of the snapshot being built and returns its sequence number for withdraw().
   * Only before the subscriber reads: the snapshot's revision is not known yet.
   */
  addToSnapshot(lease: Lease): number {
    if (this.#waiter !== undefined) throw new Error('a snapshot is built before the subscriber reads');
    this.#queue.push({ type: 'SNAPSHOT', lease });
    this.#size++;
    return this.#base + this.#queue.length - 1;
  }

  /** Withdraws a lease added to the snapshot (a commit during the snapshot changed it). */
  withdraw(seq: number): void {
    this.#drop(seq);
  }

  /** Ends the snapshot: its leases go out as UPSERTs at `revision`, then PROGRESS `revision`. */
  endSnapshot(revision: number): void {
    this.#snapshotRevision = revision;
    this.push({ type: 'PROGRESS', revision });
  }

  /** Ends the stream with an error after nothing more is delivered. */
  fail(error: PinholeError): void {
    if (this.#closed) return;
    this.#error = error;
    this.#reset();
    if (this.#failer !== undefined) {
      const f = this.#failer;
      this.#waiter = undefined;
      this.#failer = undefined;
      f(error);
    }
    this.#finish();
  }

  next(): Promise<IteratorResult<WatchItem>> {
    if (this.#error !== undefined) return Promise.reject(this.#error);
    const item = this.#take();
    if (item !== undefined) {
      this.#delivered = item.revision;
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#failer = reject;
    });
  }

  return(): Promise<IteratorResult<WatchItem>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Removes the item with sequence number `seq`, leaving a hole. */
  #drop(seq: number): void {
    const i = seq - this.#base;
    const item = this.#queue[i];
    if (item === undefined) return;
    this.#queue[i] = undefined;
    this.#size--;
    if (isLive(item)) this.#live--;
  }

  /** The oldest queued item, or undefined; compacts when more than half the array is consumed. */
  #take(): WatchItem | undefined {
    while (this.#head < this.#queue.length) {
      const seq = this.#base + this.#head;
      const item = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (item === undefined) continue;
      this.#size--;
      if (isLive(item)) this.#live--;
      if (item.type === 'UPSERT' && this.#upsertAt.get(item.lease.id) === seq)
        this.#upsertAt.delete(item.lease.id);
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#base += this.#head;
        this.#head = 0;
      }
      return item.type === 'SNAPSHOT'
        ? { type: 'UPSERT', revision: this.#snapshotRevision, lease: item.lease, snapshot: true }
        : item;
    }
    this.#reset();
    return undefined;
  }

  #reset(): void {
    this.#base += this.#queue.length;
    this.#queue = [];
    this.#head = 0;
    this.#size = 0;
    this.#live = 0;
    this.#upsertAt.clear();
  }

  close(): void {
    if (this.#closed) return;
    if (this.#waiter !== undefined) {
      const w = this.#waiter;
      this.#waiter = undefined;
      this.#failer = undefined;
      w({ value: undefined, done: true });
    }
    this.#finish();
  }

  #finish(): void {
    this.#closed = true;
    this.#onClose();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<WatchItem> {
    return this;
  }
}
