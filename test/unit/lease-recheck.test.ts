/**
 * A policy reload re-checks every live lease (LeaseEngine.recheckAll), reading the store a page
 * of 1,000 at a time: with 2,500 live leases every one is checked exactly once, the ones policy
 * no longer allows are revoked, the ones it now allows for less are shortened, and the rest are
 * left alone.
 */
import { describe, expect, it } from 'vitest';
import { LeaseEngine } from '../../server/lease/lease-engine.js';
import { HostDirectoryCache } from '../../server/lease/host-directory.js';
import { MemoryStore } from '../../server/store/memory/memory-store.js';
import { createRootLogger } from '../../server/log.js';
import type { PolicyEvaluator, Recheck } from '../../server/policy/api.js';
import type { Lease } from '../../server/core/types.js';
import { leaseFixture } from '../helpers/leases.js';

const COUNT = 2500;

describe('recheckAll', () => {
  it('checks each of 2,500 live leases once, across pages, and revokes or shortens as policy says', async () => {
    const store = MemoryStore.open();
    try {
      const leases = Array.from({ length: COUNT }, (_, i) =>
        leaseFixture({ id: `lse_${String(i).padStart(5, '0')}` }),
      );
      for (let i = 0; i < COUNT; i += 500)
        await store.commit({
          leases: leases.slice(i, i + 500).map((lease) => ({ kind: 'put', lease })),
          audit: [],
        });
      const checked = new Map<string, number>();
      // Every third lease is no longer allowed, every fifth (of the others) is allowed for less.
      const verdictOf = (lease: Lease): Recheck => {
        const n = Number(lease.id.slice(4));
        if (n % 3 === 0) return { keep: false, ruleId: 'gone', reason: 'the rule was removed' };
        if (n % 5 === 0) return { keep: true, maxExpiresAtMs: lease.expiresAtMs - 30_000 };
        return { keep: true };
      };
      const policy = {
        recheck: (lease: Lease): Recheck => {
          checked.set(lease.id, (checked.get(lease.id) ?? 0) + 1);
          return verdictOf(lease);
        },
      } as unknown as PolicyEvaluator;
      const engine = new LeaseEngine({
        store,
        policy: () => policy,
        directory: await HostDirectoryCache.load(store),
        log: createRootLogger('silent'),
      });

      const revokedIds = leases.filter((l) => !verdictOf(l).keep).map((l) => l.id);
      const shortenedIds = leases
        .filter((l) => {
          const v = verdictOf(l);
          return v.keep && v.maxExpiresAtMs !== undefined;
        })
        .map((l) => l.id);
      expect(await engine.recheckAll()).toEqual({
        revoked: revokedIds.length,
        shortened: shortenedIds.length,
      });
      expect(checked.size).toBe(COUNT);
      expect([...checked.values()].every((n) => n === 1)).toBe(true);

      const live = await store.listLeases({ limit: 10_000 });
      expect(live).toHaveLength(COUNT - revokedIds.length);
      expect((await store.getLease(revokedIds[0] ?? ''))?.endReason).toBe('policy');
      const shortened = live.find((l) => l.id === shortenedIds[0]);
      const original = leases.find((l) => l.id === shortenedIds[0]);
      expect(shortened?.expiresAtMs).toBe((original?.expiresAtMs ?? 0) - 30_000);
    } finally {
      await store.close();
    }
  });
});
