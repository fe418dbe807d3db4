/**
 * One subscriber's bounded queue. Superseded UPSERTs of a lease are coalesced (a renewal
 * storm costs one event per lease per drain, not one per renewal); a subscriber whose queue
 * still overflows is cut with RESOURCE_EXHAUSTED and resumes from its last revision.
 */
import { PinholeError } from '../core/errors.js';
import type { WatchItem } from './events.js';

export class Subscription implements AsyncIterableIterator<WatchItem> {
  readonly #limit: number;
  readonly #onClose: () => void;
  #queue: WatchItem[] = [];
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
    return this.#queue.length;
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
    if (item.type === 'UPSERT' && !item.snapshot) {
      const i = this.#queue.findIndex(
        (q) => q.type === 'UPSERT' && !q.snapshot && q.lease.id === item.lease.id,
      );
      if (i >= 0) this.#queue.splice(i, 1); // the newer state supersedes it; order stays by revision
    }
    if (item.type === 'PROGRESS' && this.#queue.at(-1)?.type === 'PROGRESS') this.#queue.pop();
    this.#queue.push(item);
    if (this.#queue.length > this.#limit) {
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
    this.#queue = [];
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
    const item = this.#queue.shift();
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
