/**
 * What only the PostgreSQL store promises: several stores (servers) on one database share one
 * revision sequence and one audit chain, see each other's commits in order, refuse a request id
 * used through another server, end an expired lease exactly once, and survive connection loss.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgStore, type PgStoreOptions } from '../../server/store/postgres/pg-store.js';
import type { StoredEvent } from '../../server/store/store.js';
import { verifyChain } from '../../server/audit/verify.js';
import { LeaseEngine } from '../../server/lease/lease-engine.js';
import { HostDirectoryCache } from '../../server/lease/host-directory.js';
import { createRootLogger } from '../../server/log.js';
import { auditFixture, deniedAnswer, leaseFixture } from '../helpers/leases.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

let cluster: TestPostgres;
const stores: PgStore[] = [];
let lastUrl = '';

beforeAll(async () => {
  cluster = await startPostgres();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});
afterAll(async () => {
  await cluster.close();
});

async function servers(n: number, o: Partial<PgStoreOptions> = {}): Promise<PgStore[]> {
  const url = await cluster.createDatabase('pgstore');
  lastUrl = url;
  const opened = await Promise.all(Array.from({ length: n }, () => PgStore.open({ url, pollMs: 200, ...o })));
  stores.push(...opened);
  return opened;
}

function record(store: PgStore): StoredEvent[][] {
  const seen: StoredEvent[][] = [];
  store.onCommit((events) => seen.push([...events]));
  return seen;
}

const put = (): Parameters<PgStore['commit']>[0] => {
  const lease = leaseFixture();
  return { leases: [{ kind: 'put', lease }], audit: [auditFixture('open', lease.id)] };
};

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('PgStore across servers', () => {
  it('migrates once when three servers start together, and they share one epoch', async () => {
    const [a, b, c] = await servers(3);
    expect(new Set([a?.epoch, b?.epoch, c?.epoch]).size).toBe(1);
    const client = new pg.Client({ connectionString: lastUrl });
    await client.connect();
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    await client.end();
    expect(rows.map((r) => r.version).sort()).toEqual([1, 2, 3]);
  });

  it('gives concurrent commits from two servers one gap-free revision sequence, delivered in order on both', async () => {
    const [a, b] = await servers(2);
    if (a === undefined || b === undefined) throw new Error('two stores expected');
    const seenA = record(a);
    const seenB = record(b);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).commit(put())),
    );
    expect(results.map((r) => r.revision).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    await Promise.all([a.catchUp(), b.catchUp()]);
    for (const seen of [seenA, seenB])
      expect(seen.map((e) => e[0]?.revision)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect([a.revision, b.revision]).toEqual([200, 200]);
    const verdict = await verifyChain((after, limit) => b.auditRecords({ afterSeq: after, limit }));
    expect(verdict).toMatchObject({ ok: true, records: 200 });
  });

  it('wakes the other server by NOTIFY, without waiting for its poll', async () => {
    const [a, b] = await servers(2, { pollMs: 60_000 });
    if (a === undefined || b === undefined) throw new Error('two stores expected');
    const seen = record(b);
    const started = Date.now();
    await a.commit(put());
    await waitFor(() => seen.length === 1, 2000);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('refuses a request id answered through another server', async () => {
    const [a, b] = await servers(2);
    if (a === undefined || b === undefined) throw new Error('two stores expected');
    const answer = deniedAnswer(a.epoch, 'r');
    const both = await Promise.allSettled(
      [a, b].map((s) =>
        s.commit({
          answer: { host: 'web-1', requestId: 'same', requestHash: 'h', answer },
          audit: [auditFixture('open')],
        }),
      ),
    );
    expect(both.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = both.find((o) => o.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason).toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('ends each expired lease exactly once when two servers sweep at the same time', async () => {
    const [a, b] = await servers(2);
    if (a === undefined || b === undefined) throw new Error('two stores expected');
    const past = Date.now() - 1000;
    await Promise.all(
      Array.from({ length: 300 }, () =>
        a.commit({ leases: [{ kind: 'put', lease: leaseFixture({ expiresAtMs: past }) }], audit: [] }),
      ),
    );
    const engine = async (store: PgStore): Promise<LeaseEngine> =>
      new LeaseEngine({
        store,
        policy: () => {
          throw new Error('expiry does not consult policy');
        },
        directory: await HostDirectoryCache.load(store),
        log: createRootLogger('silent'),
      });
    const [endedA, endedB] = await Promise.all([
      (await engine(a)).expireDue(50),
      (await engine(b)).expireDue(50),
    ]);
    expect(endedA + endedB).toBe(300);
    const expires = (await a.auditRecords({ limit: 10_000 })).filter((r) => r.action === 'expire');
    expect(expires).toHaveLength(300);
    expect(new Set(expires.map((r) => r.leaseId)).size).toBe(300);
    expect(await a.dueForExpiry(Date.now(), 10)).toEqual([]);
  });

  it('re-reads from the last revision after its LISTEN connection is cut', async () => {
    const [a, b] = await servers(2, { pollMs: 60_000 });
    if (a === undefined || b === undefined) throw new Error('two stores expected');
    const seen = record(b);
    await a.commit(put());
    await waitFor(() => seen.length === 1);
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN pinhole_commit'`,
    );
    await admin.end();
    for (let i = 0; i < 5; i++) await a.commit(put());
    // No poll for a minute: only the reconnect's re-read (or a NOTIFY after it) can deliver these.
    await waitFor(() => seen.length === 6);
    expect(seen.map((e) => e[0]?.revision)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('fails fast with UNAVAILABLE while the database is down and recovers by itself', async () => {
    const [a, b] = await servers(2);
    if (a === undefined || b === undefined) throw new Error('two stores expected');
    const seen = record(b);
    await a.commit(put());
    await cluster.stop();
    try {
      const started = Date.now();
      const failure = a.commit(put());
      await expect(failure).rejects.toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 1000 });
      await expect(failure).rejects.toThrow(/^the database is unreachable: .+; retry/);
      await expect(b.getLease('x')).rejects.toThrow(/the database is unreachable/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await cluster.start();
    }
    const after = await a.commit(put());
    expect(after.revision).toBe(2); // the refused commit consumed nothing
    await waitFor(() => seen.length === 2, 8000);
    expect(seen.map((e) => e[0]?.revision)).toEqual([1, 2]);
  });
});
