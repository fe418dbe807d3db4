/**
 * Serving status for health checks: SERVING while the store answers a cheap read, NOT_SERVING
 * while it does not, and NOT_SERVING for good once shutdown begins (so load balancers drain the
 * server before it stops). The store is probed every `intervalMs`, and at once after a failed
 * commit. No transport here: server/rpc turns this into grpc.health.v1.
 */
import type { Logger } from '../log.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export interface StoreHealthOptions {
  /** A cheap read; resolves if the store is usable. */
  readonly probe: () => Promise<unknown>;
  readonly intervalMs: number;
  /** A probe slower than this counts as failed. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

type Phase = 'running' | 'shutting-down';

export class StoreHealth {
  readonly #o: StoreHealthOptions;
  readonly #listeners = new Set<(status: ServingStatus) => void>();
  readonly #timer: NodeJS.Timeout;
  #status: ServingStatus = 'SERVING';
  #phase: Phase = 'running';
  #probing: Promise<ServingStatus> | undefined;

  constructor(o: StoreHealthOptions) {
    this.#o = o;
    this.#timer = setInterval(() => void this.probeNow(), o.intervalMs);
    this.#timer.unref();
  }

  get status(): ServingStatus {
    return this.#status;
  }

  /** Listens for status changes; returns the unsubscribe function. */
  onChange(listener: (status: ServingStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Probes now (joining a probe already running) and returns the resulting status. */
  probeNow(): Promise<ServingStatus> {
    if (this.#phase !== 'running') return Promise.resolve(this.#status);
    this.#probing ??= this.#probe().finally(() => {
      this.#probing = undefined;
    });
    return this.#probing;
  }

  async #probe(): Promise<ServingStatus> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${this.#o.timeoutMs} ms`));
      }, this.#o.timeoutMs);
      timer.unref();
    });
    try {
      await Promise.race([this.#o.probe(), timeout]);
      this.#set('SERVING');
    } catch (err) {
      if (this.#status === 'SERVING')
        this.#o.log.error({ err }, 'store health probe failed; reporting NOT_SERVING');
      this.#set('NOT_SERVING');
    } finally {
      clearTimeout(timer);
    }
    return this.#status;
  }

  #set(status: ServingStatus): void {
    if (this.#phase !== 'running' || status === this.#status) return;
    if (status === 'SERVING') this.#o.log.info('store reachable again; reporting SERVING');
    this.#status = status;
    for (const l of this.#listeners) l(status);
  }

  /** A commit failed with a store error: check at once instead of at the next interval. */
  commitFailed(): void {
    void this.probeNow();
  }

  /** Shutdown has begun: NOT_SERVING from now on, probes stop. Idempotent. */
  beginShutdown(): void {
    if (this.#phase === 'shutting-down') return;
    clearInterval(this.#timer);
    if (this.#status !== 'NOT_SERVING') {
      this.#status = 'NOT_SERVING';
      for (const l of this.#listeners) l('NOT_SERVING');
    }
    this.#phase = 'shutting-down';
  }

  close(): Promise<void> {
    this.beginShutdown();
    this.#listeners.clear();
    return Promise.resolve();
  }
}
