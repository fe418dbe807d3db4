/**
 * Counts live leases for the pinhole_leases_live gauge without a store scan per scrape: one listing
 * at start, then the commit feed (UPSERT adds, DELETE removes). Events committed while the listing
 * runs are buffered and applied after it, so none is lost or counted twice.
 */
import type { Store, StoredEvent } from '../store/store.js';

export class LiveLeaseCount {
  readonly #ids = new Set<string>();
  readonly #unlisten: () => void;

  private constructor(unlisten: () => void) {
    this.#unlisten = unlisten;
  }

  static async start(store: Store): Promise<LiveLeaseCount> {
    const buffered: StoredEvent[] = [];
    let target: LiveLeaseCount | undefined;
    const count = new LiveLeaseCount(
      store.onCommit((events) => {
        if (target === undefined) buffered.push(...events);
        else target.#apply(events);
      }),
    );
    try {
      const listedAt = store.revision;
      for (const lease of await store.listLeases({ limit: Number.MAX_SAFE_INTEGER }))
        count.#ids.add(lease.id);
      count.#apply(buffered.filter((e) => e.revision > listedAt));
      target = count;
      return count;
    } catch (e) {
      count.close();
      throw e;
    }
  }

  #apply(events: readonly StoredEvent[]): void {
    for (const e of events) {
      if (e.type === 'UPSERT') this.#ids.add(e.lease.id);
      else this.#ids.delete(e.lease.id);
    }
  }

  get size(): number {
    return this.#ids.size;
  }

  close(): void {
    this.#unlisten();
  }
}
