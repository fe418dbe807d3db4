/**
 * An NftEnforcer that reports when each lease's element is in the kernel: `apply` resolves only
 * after `nft -f` has exited 0, and nft commits the batch as one netlink transaction before it
 * exits, so that moment is "element present" without polling a listing. Also keeps every apply's
 * duration and size, to explain the latency.
 */
import { NftEnforcer, type NftEnforcerOptions } from '../../client-sdk/enforcer/nft-enforcer.js';
import type { TamperWatch, WatchTamperOptions } from '../../client-sdk/enforcer/tamper-watch.js';
import type {
  ApplyBatch,
  Enforcer,
  EnforcerLease,
  LeaseCounter,
  ReconcileReport,
} from '../../client-sdk/enforcer/types.js';

export class TimedEnforcer implements Enforcer {
  readonly inner: NftEnforcer;
  /** Lease id -> performance.now() when its first apply finished. */
  readonly appliedAt = new Map<string, number>();
  readonly applies: { readonly ms: number; readonly upserts: number; readonly deletes: number }[] = [];
  reconciles = 0;
  readonly #waiters = new Map<string, () => void>();

  constructor(options: NftEnforcerOptions) {
    this.inner = new NftEnforcer(options);
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  async apply(batch: ApplyBatch): Promise<void> {
    const started = performance.now();
    await this.inner.apply(batch);
    const now = performance.now();
    this.applies.push({ ms: now - started, upserts: batch.upserts.length, deletes: batch.deletes.length });
    for (const l of batch.upserts) this.#mark(l.leaseId, now);
  }

  async reconcile(desired: ReadonlyMap<string, EnforcerLease>): Promise<ReconcileReport> {
    const report = await this.inner.reconcile(desired);
    const now = performance.now();
    this.reconciles++;
    for (const id of desired.keys()) this.#mark(id, now);
    return report;
  }

  counters(): Promise<LeaseCounter[]> {
    return this.inner.counters();
  }

  watchTamper(options: WatchTamperOptions): TamperWatch {
    return this.inner.watchTamper(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #mark(leaseId: string, now: number): void {
    if (this.appliedAt.has(leaseId)) return;
    this.appliedAt.set(leaseId, now);
    this.#waiters.get(leaseId)?.();
    this.#waiters.delete(leaseId);
  }

  /** Resolves with the time the lease's element went in (at once if it already has). */
  whenApplied(leaseId: string, timeoutMs: number): Promise<number> {
    const at = this.appliedAt.get(leaseId);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(leaseId);
        reject(new Error(`lease ${leaseId} not applied within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.set(leaseId, () => {
        clearTimeout(timer);
        resolve(this.appliedAt.get(leaseId) ?? performance.now());
      });
    });
  }
}
