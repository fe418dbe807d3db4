/** Passes over every live lease, a page at a time. */
import type { Lease } from '../core/types.js';
import type { Store } from '../store/store.js';

/**
 * Live leases in pages of `pageSize`, by id (a keyset cursor): a pass over 100,000 leases holds one
 * page in memory, and every lease that lives throughout the pass is seen exactly once.
 */
export async function* livePages(store: Store, pageSize: number): AsyncGenerator<readonly Lease[]> {
  for (let afterId = ''; ;) {
    const page = await store.listLeases({ limit: pageSize, afterId });
    if (page.length > 0) yield page;
    const last = page.at(-1);
    if (last === undefined || page.length < pageSize) return;
    afterId = last.id;
  }
}
