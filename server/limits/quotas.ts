/**
 * Quotas on what one identity may hold: live leases and pending (approval) requests per host,
 * lease streams per firewall. A refusal is RESOURCE_EXHAUSTED naming the quota, the current
 * count and the limit, with a retry-after.
 */
import { PinholeError } from '../core/errors.js';
import type { RefusalSink } from './refusal-log.js';

export interface HostQuotaOptions {
  readonly maxLiveLeasesPerHost: number;
  readonly maxPendingPerHost: number;
  /** Live (not ended) leases of a host in the store. */
  readonly countLive: (host: string) => Promise<number>;
  /** Pending requests of a host still waiting for an admin. */
  readonly countPending: (host: string) => Promise<number>;
  /** Suggested wait before retrying a refused request, ms. Default 1,000. */
  readonly retryAfterMs?: number;
  /** Told of every refusal, for the request log (server/limits/refusal-log.ts). */
  readonly refusals?: RefusalSink;
}

/** Who asked, for the refusal's request-log record. */
export interface RefusalContext {
  readonly peer?: string;
  readonly requestId?: string;
}

export type HeldKind = 'lease' | 'pending';

const QUOTA_NAME: Readonly<Record<HeldKind, string>> = {
  lease: 'limits.maxLiveLeasesPerHost',
  pending: 'limits.maxPendingPerHost',
};
const WHAT: Readonly<Record<HeldKind, string>> = { lease: 'live leases', pending: 'pending requests' };
const HINT: Readonly<Record<HeldKind, string>> = {
  lease: 'release leases it no longer needs',
  pending: 'wait for an administrator to decide the pending ones',
};

/**
 * Checked by the lease engine after the decision, before the commit. Requests between their
 * check and their commit count as held, so concurrent Opens cannot overshoot the limit (a race
 * can only make the check stricter, never looser).
 */
export class HostQuotas {
  readonly #o: HostQuotaOptions;
  readonly #inFlight = new Map<string, number>();

  constructor(o: HostQuotaOptions) {
    this.#o = o;
  }

  /** Reserves one slot of `kind` for `host` or throws RESOURCE_EXHAUSTED; call the result after the commit. */
  async reserve(host: string, kind: HeldKind, context: RefusalContext = {}): Promise<() => void> {
    const key = `${kind}:${host}`;
    const others = this.#inFlight.get(key) ?? 0;
    this.#inFlight.set(key, others + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      const n = (this.#inFlight.get(key) ?? 1) - 1;
      if (n <= 0) this.#inFlight.delete(key);
      else this.#inFlight.set(key, n);
    };
    try {
      const stored = kind === 'lease' ? await this.#o.countLive(host) : await this.#o.countPending(host);
      const limit = kind === 'lease' ? this.#o.maxLiveLeasesPerHost : this.#o.maxPendingPerHost;
      const current = stored + others;
      if (current >= limit) {
        const retryAfterMs = this.#o.retryAfterMs ?? 1000;
        const message = `quota ${QUOTA_NAME[kind]}: host ${host} has ${current} ${WHAT[kind]} (limit ${limit}); ${HINT[kind]} and retry`;
        this.#o.refusals?.refused({
          identity: `host/${host}`,
          limit: QUOTA_NAME[kind],
          method: 'Open',
          retryAfterMs,
          message,
          ...context,
        });
        throw new PinholeError('RESOURCE_EXHAUSTED', message, { retryAfterMs });
      }
      return release;
    } catch (e) {
      release();
      throw e;
    }
  }
}

/** Open lease streams per firewall identity (synchronous: streams are counted where they start and end). */
export class StreamQuota {
  readonly #max: number;
  readonly #refusals: RefusalSink | undefined;
  readonly #open = new Map<string, number>();

  constructor(maxPerIdentity: number, refusals?: RefusalSink) {
    this.#max = maxPerIdentity;
    this.#refusals = refusals;
  }

  /** Counts one more stream of `name` (`firewall/gw-1`) or throws RESOURCE_EXHAUSTED; call the result when it ends. */
  acquire(name: string, peer?: string): () => void {
    const current = this.#open.get(name) ?? 0;
    if (current >= this.#max) {
      const message = `quota limits.maxWatchStreamsPerFirewall: ${name} has ${current} open lease streams (limit ${this.#max}); close one (or resume on the existing stream) and retry`;
      this.#refusals?.refused({
        identity: name,
        limit: 'limits.maxWatchStreamsPerFirewall',
        method: 'Watch',
        retryAfterMs: 1000,
        message,
        ...(peer === undefined ? {} : { peer }),
      });
      throw new PinholeError('RESOURCE_EXHAUSTED', message, { retryAfterMs: 1000 });
    }
    this.#open.set(name, current + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#open.get(name) ?? 1) - 1;
      if (n <= 0) this.#open.delete(name);
      else this.#open.set(name, n);
    };
  }
}
