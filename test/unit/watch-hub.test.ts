import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { WatchHub } from '../../server/watch/hub.js';
import type { WatchItem } from '../../server/watch/events.js';
import type { Subscription } from '../../server/watch/subscription.js';
import type { LeaseFilter, Store } from '../../server/store/store.js';
import type { Lease } from '../../server/core/types.js';
import { leaseFixture } from '../helpers/leases.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(retainRevisions = 1000, queueLimit = 1000): { store: SqliteStore; hub: WatchHub } {
  const dir = tempDir();
  const store = SqliteStore.open({ path: join(dir, 'p.db'), retainRevisions });
  const hub = new WatchHub({ store, queueLimit, progressIntervalMs: 60_000 });
  cleanups.push(async () => {
    await hub.close();
    await store.close();
    removeDir(dir);
  });
  return { store, hub };
}

async function take(sub: Subscription, n: number): Promise<WatchItem[]> {
  const out: WatchItem[] = [];
  while (out.length < n) {
    const r = await sub.next();
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

const all = (): boolean => true;

describe('WatchHub', () => {
  it('sends a snapshot ended by PROGRESS, then live events in revision order', async () => {
    const { store, hub } = setup();
    const a = leaseFixture();
    await store.commit({ leases: [{ kind: 'put', lease: a }], audit: [] });
    const sub = await hub.subscribe({ fromRevision: 0, inScope: all });
    const b = leaseFixture();
    await store.commit({ leases: [{ kind: 'put', lease: b }], audit: [] });
    await store.commit({ leases: [{ kind: 'end', lease: a, reason: 'released' }], audit: [] });
    const items = await take(sub, 4);
    expect(items.map((i) => [i.type, i.revision])).toEqual([
      ['UPSERT', 1],
      ['PROGRESS', 1],
      ['UPSERT', 2],
      ['DELETE', 3],
    ]);
    expect(items[0]?.type === 'UPSERT' && items[0].snapshot).toBe(true);
    expect(items[3]?.type === 'DELETE' && items[3].reason).toBe('released');
  });

  it('resumes from a revision with exactly the missed events, and filters by scope', async () => {
    const { store, hub } = setup();
    const mine = leaseFixture({ host: 'web-1' });
    const other = leaseFixture({ host: 'db-1' });
    await store.commit({ leases: [{ kind: 'put', lease: mine }], audit: [] }); // 1
    await store.commit({ leases: [{ kind: 'put', lease: other }], audit: [] }); // 2
    await store.commit({
      leases: [{ kind: 'put', lease: { ...mine, expiresAtMs: mine.expiresAtMs + 1 } }],
      audit: [],
    }); // 3
    const sub = await hub.subscribe({ fromRevision: 1, inScope: (l) => l.host === 'web-1' });
    const items = await take(sub, 2);
    expect(items.map((i) => [i.type, i.revision])).toEqual([
      ['UPSERT', 3],
      ['PROGRESS', 3],
    ]);
  });

  it('answers RESET then a snapshot when the asked revision was compacted', async () => {
    const { store, hub } = setup(5);
    const live = leaseFixture();
    await store.commit({ leases: [{ kind: 'put', lease: live }], audit: [] });
    for (let i = 0; i < 20; i++)
      await store.commit({ leases: [{ kind: 'put', lease: leaseFixture() }], audit: [] });
    const sub = await hub.subscribe({ fromRevision: 1, inScope: (l) => l.id === live.id });
    const items = await take(sub, 3);
    expect(items.map((i) => i.type)).toEqual(['RESET', 'UPSERT', 'PROGRESS']);
    expect(items[1]?.type === 'UPSERT' && items[1].lease.id).toBe(live.id);
  });

  it('coalesces queued renewals of one lease and cuts a subscriber that still falls behind', async () => {
    const { store, hub } = setup(1000, 5);
    const lease = leaseFixture();
    const slow = await hub.subscribe({ fromRevision: 0, inScope: all });
    const fast = await hub.subscribe({ fromRevision: 0, inScope: all });
    const fastItems: WatchItem[] = [];
    const reading = (async () => {
      for await (const item of fast) fastItems.push(item);
    })();
    for (let i = 0; i < 20; i++)
      await store.commit({
        leases: [{ kind: 'put', lease: { ...lease, expiresAtMs: lease.expiresAtMs + i } }],
        audit: [],
      });
    // 20 renewals of one lease coalesce to one queued UPSERT: the slow one is still within its limit.
    expect(slow.depth).toBeLessThanOrEqual(2);
    for (let i = 0; i < 10; i++)
      await store.commit({ leases: [{ kind: 'put', lease: leaseFixture() }], audit: [] });
    await expect(take(slow, 100)).rejects.toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    expect(fastItems.filter((i) => i.type === 'UPSERT').length).toBeGreaterThanOrEqual(11);
    expect(fastItems.at(-1)?.revision).toBe(30);
    await hub.close();
    await expect(reading).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('delivers a snapshot larger than the queue limit (regression: the limit counts live events only)', async () => {
    const { store, hub } = setup(1000, 5);
    for (let i = 0; i < 20; i++)
      await store.commit({ leases: [{ kind: 'put', lease: leaseFixture() }], audit: [] });
    const sub = await hub.subscribe({ fromRevision: 0, inScope: all });
    const items = await take(sub, 21);
    expect(items.filter((i) => i.type === 'UPSERT')).toHaveLength(20);
    expect(items.at(-1)?.type).toBe('PROGRESS');
  });

  it('reads a snapshot a page at a time, and commits between pages leave it the live set at its PROGRESS (issue #9)', async () => {
    const { store } = setup();
    const leases = Array.from({ length: 2500 }, () => leaseFixture());
    await store.commit({ leases: leases.map((lease) => ({ kind: 'put' as const, lease })), audit: [] }); // 1
    const byId = [...leases].sort((a, b) => (a.id < b.id ? -1 : 1));
    const [early, earlyEnded, late, lateEnded] = [byId[10], byId[20], byId[2400], byId[2410]];
    if (early === undefined || earlyEnded === undefined || late === undefined || lateEnded === undefined)
      throw new Error('fixture');
    const added = leaseFixture({ id: 'lse_zz_added' });
    const outOfScope = leaseFixture({ id: 'lse_zz_other', host: 'db-1' });
    const renew = (l: Lease): Promise<unknown> =>
      store.commit({
        leases: [{ kind: 'put', lease: { ...l, expiresAtMs: l.expiresAtMs + 5000 } }],
        audit: [],
      });
    const end = (l: Lease): Promise<unknown> =>
      store.commit({ leases: [{ kind: 'end', lease: l, reason: 'released' }], audit: [] });
    // Once the first page is read, leases already queued and leases not yet read change.
    const reads: LeaseFilter[] = [];
    const paged = new Proxy(store, {
      get(target, key): unknown {
        if (key === 'listLeases')
          return async (filter: LeaseFilter): Promise<Lease[]> => {
            reads.push(filter);
            if (reads.length === 2) {
              await renew(early); // 2
              await end(earlyEnded); // 3
              await renew(late); // 4
              await end(lateEnded); // 5
              await store.commit({ leases: [{ kind: 'put', lease: added }], audit: [] }); // 6
              await store.commit({ leases: [{ kind: 'put', lease: outOfScope }], audit: [] }); // 7
            }
            return target.listLeases(filter);
          };
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Store;
    const hub = new WatchHub({ store: paged, queueLimit: 100, progressIntervalMs: 60_000 });
    cleanups.push(() => hub.close());
    const sub = await hub.subscribe({ fromRevision: 0, inScope: (l) => l.host === 'web-1' });
    await renew(added); // 8, live
    const items = await take(sub, 2501);
    expect(reads.length).toBeGreaterThanOrEqual(3);
    expect(reads.every((f) => f.afterId !== undefined && (f.limit ?? 1000) <= 1000)).toBe(true);
    const snapshot = items.slice(0, -2);
    expect(snapshot.every((i) => i.type === 'UPSERT' && i.snapshot && i.revision === 7)).toBe(true);
    expect(items.at(-2)).toEqual({ type: 'PROGRESS', revision: 7 });
    const last = items.at(-1);
    expect(last?.type === 'UPSERT' && !last.snapshot && [last.revision, last.lease.id]).toEqual([
      8,
      added.id,
    ]);
    // Exactly the live set at 7 (read back at 8 with the one lease changed at 8 put back).
    const expected = new Map(
      (await store.listLeases({ host: 'web-1', limit: 10_000 })).map((l) => [l.id, l.expiresAtMs]),
    );
    expected.set(added.id, added.expiresAtMs);
    const got = new Map(
      snapshot.map((i) => (i.type === 'UPSERT' ? [i.lease.id, i.lease.expiresAtMs] : ['', 0])),
    );
    expect(got.size).toBe(snapshot.length);
    expect(got).toEqual(expected);
    expect(got.get(early.id)).toBe(early.expiresAtMs + 5000);
    expect(got.get(late.id)).toBe(late.expiresAtMs + 5000);
    expect(got.has(earlyEnded.id) || got.has(lateEnded.id) || got.has(outOfScope.id)).toBe(false);
  });
});
