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
 */
import { PinholeError } from '../core/errors.js';
import type { WatchItem } from './events.js';

export class Subscription implements AsyncIterableIterator<WatchItem> {
  readonly #limit: number;
  readonly #onClose: () => void;
  /** Items from #head on; superseded ones are holes (undefined). Index = sequence - #base. */
  #queue: (WatchItem | undefined)[] = [];
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
    const live = !(item.type === 'UPSERT' && item.snapshot);
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
    if (!(item.type === 'UPSERT' && item.snapshot)) this.#live--;
  }

  /** The oldest queued item, or undefined; compacts when more than half the array is consumed. */
  #take(): WatchItem | undefined {
    while (this.#head < this.#queue.length) {
      const seq = this.#base + this.#head;
      const item = this.#queue[this.#head];
      this.#queue[this.#head++] = undefined;
      if (item === undefined) continue;
      this.#size--;
      if (!(item.type === 'UPSERT' && item.snapshot)) this.#live--;
      if (item.type === 'UPSERT' && this.#upsertAt.get(item.lease.id) === seq)
        this.#upsertAt.delete(item.lease.id);
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#base += this.#head;
        this.#head = 0;
      }
      return item;
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
