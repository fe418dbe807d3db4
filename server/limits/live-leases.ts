/**
 * Live leases per host, counted in memory from the store's commit feed, so the quota check on
 * every Open is a map lookup rather than a read of the host's leases (which, for a host at its
 * quota, would make each refused Open as expensive as a ListMine).
 */
import type { Store, StoredEvent } from '../store/store.js';

export class LiveLeaseCounter {
  readonly #byHost = new Map<string, Set<string>>();
  readonly #unlisten: () => void;

  private constructor(store: Store) {
    // Listen first, then load: an event committed during the load is applied twice, harmlessly (sets).
    this.#unlisten = store.onCommit((events) => {
      this.#apply(events);
    });
  }

  /** Subscribes to the commit feed and loads the live leases already stored. */
  static async load(store: Store): Promise<LiveLeaseCounter> {
    const counter = new LiveLeaseCounter(store);
    for (const lease of await store.listLeases({ limit: Number.MAX_SAFE_INTEGER })) {
      if (lease.state !== 'ended') counter.#add(lease.host, lease.id);
    }
    return counter;
  }

  count(host: string): number {
    return this.#byHost.get(host)?.size ?? 0;
  }

  close(): Promise<void> {
    this.#unlisten();
    return Promise.resolve();
  }

  #apply(events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (e.type === 'UPSERT' && e.lease.state !== 'ended') this.#add(e.lease.host, e.lease.id);
      else this.#remove(e.lease.host, e.lease.id);
    }
  }

  #add(host: string, id: string): void {
    let ids = this.#byHost.get(host);
    if (ids === undefined) {
      ids = new Set();
      this.#byHost.set(host, ids);
    }
    ids.add(id);
  }

  #remove(host: string, id: string): void {
    const ids = this.#byHost.get(host);
    if (ids === undefined) return;
    ids.delete(id);
    if (ids.size === 0) this.#byHost.delete(host);
  }
}
