/**
 * One suite, every store: memory, SQLite (on the calling thread and on its worker thread) and
 * PostgreSQL must keep the same Store contract (server/store/store.ts), so the lease engine and
 * the watch hub never know which one they use.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Mutation, Store, StoredEvent } from '../../server/store/store.js';
import type { OpenAnswer } from '../../server/core/types.js';
import { GENESIS_HASH } from '../../server/audit/record.js';
import { verifyChain } from '../../server/audit/verify.js';
import { checkpointSigner } from '../../server/audit/checkpoint.js';
import type { PruneRequest } from '../../server/audit/prune.js';
import { ReceiptSigner } from '../../server/identity/receipts.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { auditFixture, deniedAnswer, leaseFixture } from '../helpers/leases.js';
import { DIALECTS, dialect, type StoreOptions } from './dialects.js';

const put = (lease = leaseFixture()): Mutation => ({
  leases: [{ kind: 'put', lease }],
  audit: [auditFixture('open', lease.id)],
});

const DAY_MS = 86_400_000;

/** A record from `daysAgo` days ago, committed on its own. */
const aged = (daysAgo: number, i = 0): Mutation => ({
  audit: [{ ...auditFixture('admin', `old-${i}`), atMs: Date.now() - daysAgo * DAY_MS + i }],
});

for (const name of DIALECTS) {
  describe(`Store conformance: ${name}`, () => {
    const d = dialect(name);
    const open: Store[] = [];
    const fresh = async (o?: StoreOptions): Promise<{ store: Store; reopen: () => Promise<Store> }> => {
      const location = await d.location(o);
      const store = await location.open();
      open.push(store);
      return {
        store,
        reopen: async () => {
          const again = await location.open();
          open.push(again);
          return again;
        },
      };
    };
    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
    });
    afterAll(() => d.teardown());

    it('stamps one strictly increasing revision per lease-changing commit, even when commits share a transaction', async () => {
      const { store } = await fresh();
      const results = await Promise.all(Array.from({ length: 50 }, () => store.commit(put())));
      expect(results.map((r) => r.revision)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(results.every((r) => r.leases[0]?.revision === r.revision)).toBe(true);
      expect(store.revision).toBe(50);
      const auditOnly = await store.commit({ audit: [auditFixture('admin')] });
      expect(auditOnly.revision).toBe(0);
      expect(store.revision).toBe(50);
    });

    it('a failed precondition rolls back only its own mutation and consumes no revision', async () => {
      const { store } = await fresh();
      const a = leaseFixture();
      const first = await store.commit(put(a));
      const [stale, missing, fine] = await Promise.allSettled([
        store.commit({
          expect: [{ leaseId: a.id, revision: 999 }],
          leases: [{ kind: 'end', lease: a, reason: 'released' }],
          audit: [auditFixture('release', a.id)],
        }),
        store.commit({
          expect: [{ leaseId: 'lse_nope', revision: 1 }],
          leases: [{ kind: 'end', lease: a, reason: 'released' }],
          audit: [auditFixture('release')],
        }),
        store.commit(put()),
      ]);
      expect(stale.status === 'rejected' && stale.reason).toMatchObject({
        name: 'PinholeError',
        code: 'FAILED_PRECONDITION',
      });
      expect(missing.status === 'rejected' && missing.reason).toMatchObject({
        name: 'PinholeError',
        code: 'NOT_FOUND',
      });
      expect(fine.status === 'fulfilled' && fine.value.revision).toBe(first.revision + 1);
      expect((await store.getLease(a.id))?.state).toBe('granted');
      expect(await store.auditRecords({})).toHaveLength(2); // the refused mutations' records are gone too
    });

    it('of two ends of the same lease at the same revision, exactly one commits', async () => {
      const { store } = await fresh();
      const a = leaseFixture();
      const { leases } = await store.commit(put(a));
      const stamped = leases[0] ?? a;
      const end = (): Promise<unknown> =>
        store.commit({
          expect: [{ leaseId: a.id, revision: stamped.revision }],
          leases: [{ kind: 'end', lease: stamped, reason: 'expired' }],
          audit: [auditFixture('expire', a.id)],
        });
      const outcomes = await Promise.allSettled([end(), end()]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect((await store.auditRecords({})).filter((r) => r.action === 'expire')).toHaveLength(1);
      expect((await store.getLease(a.id))?.state).toBe('ended');
    });

    it('keeps one answer per (host, request id): a second is ALREADY_EXISTS, also within one batch', async () => {
      const { store } = await fresh();
      const answer = deniedAnswer(store.epoch);
      await store.commit({ answer: { host: 'web-1', requestId: 'x', requestHash: 'h', answer }, audit: [] });
      await expect(
        store.commit({ answer: { host: 'web-1', requestId: 'x', requestHash: 'h2', answer }, audit: [] }),
      ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
      await store.commit({ answer: { host: 'db-1', requestId: 'x', requestHash: 'h', answer }, audit: [] });
      expect((await store.findAnswer('web-1', 'x'))?.requestHash).toBe('h');
      const racing = await Promise.allSettled(
        [1, 2].map(() =>
          store.commit({
            answer: { host: 'web-1', requestId: 'y', requestHash: 'h', answer },
            audit: [auditFixture('open')],
          }),
        ),
      );
      expect(racing.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      expect(await store.findAnswer('web-1', 'nope')).toBeUndefined();
    });

    it('stores the answer with its lease stamped at the commit revision', async () => {
      const { store } = await fresh();
      const lease = leaseFixture();
      const answer: OpenAnswer = { ...deniedAnswer(store.epoch), lease };
      const result = await store.commit({
        ...put(lease),
        answer: { host: lease.host, requestId: lease.requestId, requestHash: 'h', answer },
      });
      expect(result.answer?.lease?.revision).toBe(result.revision);
      expect((await store.findAnswer(lease.host, lease.requestId))?.answer.lease?.revision).toBe(
        result.revision,
      );
    });

    it('chains audit records by hash, one chain across commits that share a transaction', async () => {
      const { store } = await fresh();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.commit({ ...put(), audit: [auditFixture('open'), auditFixture('admin', `x${i}`)] }),
        ),
      );
      const records = await store.auditRecords({});
      expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(records[0]?.prevHash).toBe(GENESIS_HASH);
      const verdict = await verifyChain((after, limit) => store.auditRecords({ afterSeq: after, limit }));
      expect(verdict).toMatchObject({ ok: true, records: 40 });
      expect((await store.auditRecords({ afterSeq: 38, limit: 5 })).map((r) => r.seq)).toEqual([39, 40]);
    });

    it('restores the epoch, revision and chain head on reopen', async () => {
      const { store, reopen } = await fresh();
      const epoch = store.epoch;
      for (let i = 0; i < 3; i++) await store.commit(put());
      await store.close();
      const again = await reopen();
      expect(again.epoch).toBe(epoch);
      expect(again.revision).toBe(3);
      expect((await again.commit(put())).revision).toBe(4);
      const verdict = await verifyChain((after, limit) => again.auditRecords({ afterSeq: after, limit }));
      expect(verdict).toMatchObject({ ok: true, records: 4 });
      const other = await fresh();
      expect(other.store.epoch).not.toBe(epoch); // a new, empty store is a new epoch
    });

    it('returns due leases oldest first and an ordered event log', async () => {
      const { store } = await fresh();
      const now = Date.now();
      const later = leaseFixture({ expiresAtMs: now - 10 });
      const older = leaseFixture({ expiresAtMs: now - 1000 });
      await store.commit(put(later));
      await store.commit(put(older));
      const future = leaseFixture({ expiresAtMs: now + 60_000 });
      await store.commit(put(future));
      expect((await store.dueForExpiry(now, 10)).map((l) => l.id)).toEqual([older.id, later.id]);
      expect((await store.dueForExpiry(now, 1)).map((l) => l.id)).toEqual([older.id]);
      await store.commit({
        leases: [{ kind: 'end', lease: older, reason: 'expired', detail: 'term ended' }],
        audit: [],
      });
      expect((await store.dueForExpiry(now, 10)).map((l) => l.id)).toEqual([later.id]);
      const events = await store.eventsAfter(0, 100);
      expect(events !== 'compacted' && events.map((e) => [e.revision, e.type, e.reason])).toEqual([
        [1, 'UPSERT', undefined],
        [2, 'UPSERT', undefined],
        [3, 'UPSERT', undefined],
        [4, 'DELETE', 'expired'],
      ]);
      const ended = await store.getLease(older.id);
      expect(ended).toMatchObject({
        state: 'ended',
        endReason: 'expired',
        endDetail: 'term ended',
        revision: 4,
      });
      expect((await store.listLeases({})).map((l) => l.id)).toEqual([later.id, future.id]);
      expect(await store.listLeases({ includeEnded: true, limit: 2 })).toHaveLength(2);
      expect(await store.listLeases({ host: 'nobody' })).toEqual([]);
    });

    it('pages leases by id with afterId: each lease once, in id order, with the host and ended filters', async () => {
      const { store } = await fresh();
      // Committed out of id order, so id order is not insertion order; one batch is one revision.
      const ids = Array.from({ length: 23 }, (_, i) => `lse_page${String((i * 7) % 23).padStart(2, '0')}`);
      const leases = ids.map((id, i) => leaseFixture({ id, host: i % 3 === 0 ? 'db-1' : 'web-1' }));
      await store.commit({ leases: leases.map((lease) => ({ kind: 'put', lease })), audit: [] });
      const ended = leases.filter((_, i) => i % 5 === 0);
      await store.commit({
        leases: ended.map((lease) => ({ kind: 'end', lease, reason: 'released' })),
        audit: [],
      });
      const walk = async (filter: { host?: string; includeEnded?: boolean }): Promise<string[][]> => {
        const pages: string[][] = [];
        let afterId = '';
        for (;;) {
          const page = (await store.listLeases({ ...filter, afterId, limit: 4 })).map((l) => l.id);
          if (page.length > 0) pages.push(page);
          const last = page.at(-1);
          if (last === undefined || page.length < 4) return pages;
          afterId = last;
        }
      };
      const sorted = [...ids].sort();
      const endedIds = new Set(ended.map((l) => l.id));
      const live = sorted.filter((id) => !endedIds.has(id));
      const all = await walk({ includeEnded: true });
      expect(all.flat()).toEqual(sorted);
      expect(all.every((page) => page.length <= 4)).toBe(true);
      expect((await walk({})).flat()).toEqual(live);
      const dbIds = new Set(leases.filter((l) => l.host === 'db-1').map((l) => l.id));
      expect((await walk({ host: 'db-1' })).flat()).toEqual(live.filter((id) => dbIds.has(id)));
      // The cursor need not be a stored id; past the last id the listing is empty.
      expect((await store.listLeases({ afterId: 'lse_page10x', limit: 2 })).map((l) => l.id)).toEqual(
        live.filter((id) => id > 'lse_page10x').slice(0, 2),
      );
      expect(await store.listLeases({ afterId: 'lse_page99' })).toEqual([]);
      // Without afterId, insertion order as before.
      expect((await store.listLeases({ limit: 3 })).map((l) => l.id)).toEqual(
        ids.filter((id) => !endedIds.has(id)).slice(0, 3),
      );
    });

    it('lists the id and host of every live lease, and nothing else', async () => {
      const { store } = await fresh();
      const a = leaseFixture({ host: 'web-1' });
      const b = leaseFixture({ host: 'db-1' });
      const c = leaseFixture({ host: 'db-1' });
      await store.commit({ leases: [a, b, c].map((lease) => ({ kind: 'put', lease })), audit: [] });
      await store.commit({ leases: [{ kind: 'end', lease: b, reason: 'revoked' }], audit: [] });
      const keys = await store.listLiveLeaseKeys();
      expect([...keys].sort((x, y) => (x.id < y.id ? -1 : 1))).toEqual(
        [a, c].map((l) => ({ id: l.id, host: l.host })).sort((x, y) => (x.id < y.id ? -1 : 1)),
      );
    });

    it('never splits one revision across pages of the event log', async () => {
      const { store } = await fresh();
      for (let i = 0; i < 3; i++) {
        await store.commit({
          leases: [0, 1, 2].map(() => ({ kind: 'put' as const, lease: leaseFixture() })),
          audit: [],
        });
      }
      const page = await store.eventsAfter(0, 4);
      expect(page !== 'compacted' && page.map((e) => e.revision)).toEqual([1, 1, 1, 2, 2, 2]);
    });

    it('compacts old events; a resume from before them is told so', async () => {
      const { store } = await fresh({ retainRevisions: 10 });
      for (let i = 0; i < 30; i++) await store.commit(put());
      expect(store.compactedRevision).toBeGreaterThan(0);
      expect(await store.eventsAfter(0, 100)).toBe('compacted');
      const recent = await store.eventsAfter(store.compactedRevision, 100);
      expect(recent !== 'compacted' && recent[0]?.revision).toBe(store.compactedRevision + 1);
      expect(recent !== 'compacted' && recent.at(-1)?.revision).toBe(30);
    });

    it('calls onCommit listeners once per commit, in revision order, with no gap', async () => {
      const { store } = await fresh();
      const seen: StoredEvent[][] = [];
      const stop = store.onCommit((events) => seen.push([...events]));
      await Promise.all(Array.from({ length: 40 }, () => store.commit(put())));
      await store.commit({
        leases: [
          { kind: 'put', lease: leaseFixture() },
          { kind: 'put', lease: leaseFixture() },
        ],
        audit: [],
      });
      await store.commit({ audit: [auditFixture('admin')] }); // no lease change: no event
      expect(seen.map((events) => events[0]?.revision)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
      expect(seen.at(-1)).toHaveLength(2);
      stop();
      await store.commit(put());
      expect(seen).toHaveLength(41);
    });

    it('round-trips pending requests and known hosts', async () => {
      const { store } = await fresh();
      const base = {
        host: 'db-1',
        addresses: ['198.18.1.10'],
        request: {
          requestId: 'p1',
          openings: [],
          requestedTtlSeconds: 0,
          allOrNothing: false,
          description: '',
        },
        decision: deniedAnswer('e').decision,
        createdAtMs: 1,
        expiresAtMs: 2,
      } as const;
      await store.commit({
        pending: { ...base, id: 'pnd_1', state: 'waiting' },
        audit: [auditFixture('open')],
      });
      await store.commit({ pending: { ...base, id: 'pnd_2', state: 'waiting' }, audit: [] });
      await store.commit({ pending: { ...base, id: 'pnd_1', state: 'denied' }, audit: [] });
      expect((await store.getPending('pnd_1'))?.state).toBe('denied');
      expect((await store.listPending('waiting')).map((p) => p.id)).toEqual(['pnd_2']);
      expect((await store.listPending()).map((p) => p.id)).toEqual(['pnd_1', 'pnd_2']);
      await store.upsertHost({ name: 'web-1', addresses: ['198.18.0.2'], lastSeenMs: 5 });
      await store.upsertHost({ name: 'web-1', addresses: ['198.18.0.9'], lastSeenMs: 6 });
      expect(await store.listHosts()).toEqual([{ name: 'web-1', addresses: ['198.18.0.9'], lastSeenMs: 6 }]);
    });

    describe('audit retention', () => {
      let keyDir: string;
      let signer: ReceiptSigner;
      const prune = (beforeMs: number, maxRecords?: number): PruneRequest => ({
        beforeMs,
        by: 'conformance',
        sign: checkpointSigner(signer),
        ...(maxRecords === undefined ? {} : { maxRecords }),
      });
      const verify = async (store: Store) =>
        verifyChain((after, limit) => store.auditRecords({ afterSeq: after, limit }), undefined, undefined, {
          checkpoints: await store.auditCheckpoints(),
          jwks: signer.jwks,
          keySource: 'test key',
        });
      beforeAll(async () => {
        keyDir = tempDir();
        signer = await ReceiptSigner.loadOrCreate(keyDir);
      });
      afterAll(() => {
        removeDir(keyDir);
      });

      it('prunes old records behind a signed checkpoint; the chain verifies from it, across commits, reopen and a second prune', async () => {
        const { store, reopen } = await fresh();
        for (let i = 0; i < 5; i++) await store.commit(aged(10, i));
        for (let i = 0; i < 3; i++) await store.commit(aged(0, i));
        const first = await store.pruneAudit(prune(Date.now() - DAY_MS));
        expect(first).toMatchObject({
          outcome: 'pruned',
          checkpoint: { seq: 5, count: 5, firstSeq: 1, firstPrevHash: GENESIS_HASH, by: 'conformance' },
          record: { seq: 9, action: 'audit-prune', actor: 'conformance', detail: { checkpoint: { seq: 5 } } },
        });
        expect((await store.auditRecords({})).map((r) => r.seq)).toEqual([6, 7, 8, 9]);
        expect(await store.auditCheckpoints()).toMatchObject([{ seq: 5, count: 5 }]);
        expect(await verify(store)).toMatchObject({ ok: true, records: 4, checkpoint: { seq: 5, count: 5 } });
        expect(await store.pruneAudit(prune(Date.now() - DAY_MS))).toEqual({ outcome: 'nothing' });
        // Commits chain after the prune record, also after a reopen.
        await store.commit(put());
        await store.close();
        const again = await reopen();
        await again.commit(put());
        expect((await again.auditRecords({ afterSeq: 9 })).map((r) => r.seq)).toEqual([10, 11]);
        // A second prune, in batches of 4: the checkpoints chain.
        const second = await again.pruneAudit(prune(Date.now() + 1000, 4));
        expect(second).toMatchObject({ outcome: 'pruned', checkpoint: { firstSeq: 6, seq: 9, count: 4 } });
        expect((await again.auditCheckpoints()).map((c) => c.seq)).toEqual([5, 9]);
        expect(await verify(again)).toMatchObject({
          ok: true,
          checkpoint: { seq: 9, count: 4, prunedTotal: 9 },
        });
      });

      it('two prunes at once: one wins, the other changes nothing, the chain holds', async () => {
        const { store } = await fresh();
        for (let i = 0; i < 6; i++) await store.commit(aged(10, i));
        await store.commit(aged(0));
        // Both signatures wait for each other: both prunes have planned from the same (no)
        // checkpoint before either writes, so this is a true race whatever the scheduling.
        let arrived = 0;
        let release: () => void = () => undefined;
        const bothSigned = new Promise<void>((r) => (release = r));
        const racing: PruneRequest = {
          ...prune(Date.now() - DAY_MS),
          sign: async (claims) => {
            const jws = await checkpointSigner(signer)(claims);
            if (++arrived === 2) release();
            await bothSigned;
            return jws;
          },
        };
        const results = await Promise.all([
          store.pruneAudit(racing),
          store.pruneAudit(racing),
          store.commit(aged(0, 1)),
        ]);
        expect(
          results
            .slice(0, 2)
            .map((r) => ('outcome' in r ? r.outcome : ''))
            .sort(),
        ).toEqual(['pruned', 'superseded']);
        expect(await store.auditCheckpoints()).toHaveLength(1);
        expect(await verify(store)).toMatchObject({ ok: true, checkpoint: { seq: 6, count: 6 } });
      });

      it('a pruned log without its checkpoint fails verification, naming the gap', async () => {
        const { store } = await fresh();
        for (let i = 0; i < 3; i++) await store.commit(aged(10, i));
        await store.pruneAudit(prune(Date.now() - DAY_MS));
        const verdict = await verifyChain((after, limit) => store.auditRecords({ afterSeq: after, limit }));
        expect(verdict).toMatchObject({
          ok: false,
          firstBadSeq: 1,
          problem:
            'records 1-3 are missing and no checkpoint accounts for them (records were removed, or the checkpoint of a prune was deleted)',
        });
      });
    });

    it('close flushes queued commits, then refuses work with UNAVAILABLE; a second close joins the first', async () => {
      const { store } = await fresh();
      const queued = store.commit(put());
      await Promise.all([store.close(), store.close()]);
      expect((await queued).revision).toBe(1);
      await expect(store.commit(put())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(store.getLease('x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await store.close();
    });
  });
}
