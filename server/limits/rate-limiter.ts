/**
 * Per-identity rate limits for the Opening calls (Open, Renew, Release): one token bucket per
 * authenticated identity, so a host that floods the server spends only its own budget and is
 * refused before its request reaches policy or the store.
 */
import { PinholeError } from '../core/errors.js';
import { TokenBucket } from './token-bucket.js';
import type { RefusalSink } from './refusal-log.js';

export interface RateLimitOptions {
  /** Sustained requests per second per identity. */
  readonly requestsPerSecond: number;
  /** Requests an identity may make at once after being idle. */
  readonly burst: number;
  readonly now?: () => number;
  /** Told of every refusal, for the request log (server/limits/refusal-log.ts). */
  readonly refusals?: RefusalSink;
}

/** Full buckets are forgotten on a sweep every this many calls, so the map tracks active identities only. */
const SWEEP_EVERY = 4096;

export class IdentityRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #refusals: RefusalSink | undefined;
  readonly #buckets = new Map<string, TokenBucket>();
  #calls = 0;

  constructor(o: RateLimitOptions) {
    this.#rate = o.requestsPerSecond;
    this.#burst = o.burst;
    this.#now = o.now ?? Date.now;
    this.#refusals = o.refusals;
  }

  /** Number of identities currently tracked (a gauge for operators and tests). */
  get tracked(): number {
    return this.#buckets.size;
  }

  /**
   * Admits one request of `identity` (e.g. `host/db-1`) or throws RESOURCE_EXHAUSTED with the
   * time until the next token as retryAfterMs.
   */
  admit(identity: string, method: string, peer?: string): void {
    const now = this.#now();
    if (++this.#calls % SWEEP_EVERY === 0) this.#sweep(now);
    let bucket = this.#buckets.get(identity);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#rate, this.#burst, now);
      this.#buckets.set(identity, bucket);
    }
    const waitMs = bucket.take(now);
    if (waitMs === 0) return;
    const message = `rate limit: ${identity} exceeded ${this.#rate} requests/s (burst ${this.#burst}) for Open/Renew/Release (${method}); retry after ${waitMs} ms`;
    this.#refusals?.refused({
      identity,
      limit: 'limits.requestsPerSecond',
      method,
      retryAfterMs: waitMs,
      message,
      ...(peer === undefined ? {} : { peer }),
    });
    throw new PinholeError('RESOURCE_EXHAUSTED', message, { retryAfterMs: waitMs });
  }

  #sweep(now: number): void {
    for (const [identity, bucket] of this.#buckets) if (bucket.idle(now)) this.#buckets.delete(identity);
  }
}
