/** Live leases committed straight into a new SQLite store, before a server starts on it. */
import { join } from 'node:path';
import type { Lease } from '../../server/core/types.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';

/**
 * Commits `count` leases made by `make(n, nowMs)` into `dataDir/pinhole.db`, 5,000 per commit (the
 * database `pinhole serve --data-dir dataDir` opens). Returns the store's revision afterwards.
 */
export async function seedLeases(
  dataDir: string,
  count: number,
  make: (n: number, nowMs: number) => Lease,
): Promise<number> {
  const store = SqliteStore.open({ path: join(dataDir, 'pinhole.db') });
  try {
    const now = Date.now();
    for (let n = 0; n < count; n += 5000) {
      const leases = Array.from({ length: Math.min(5000, count - n) }, (_, k) => make(n + k, now));
      await store.commit({ leases: leases.map((lease) => ({ kind: 'put' as const, lease })), audit: [] });
    }
    return store.revision;
  } finally {
    await store.close();
  }
}
