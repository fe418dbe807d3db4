/**
 * Issue 10, abuse by an authenticated host: per-identity rate limits and quotas answer
 * RESOURCE_EXHAUSTED with a retry-after and a message naming the quota and the count, and a
 * flood from one host does not starve another. Refusals are in the request log, coalesced: the
 * first of a window as its own record, the rest as one summary (server/limits/refusal-log.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { status, type ServiceError } from '@grpc/grpc-js';
import { readClientTls, watchClient, type OpeningClient } from '../../client-sdk/wire.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import {
  callError,
  hostClient,
  REPO,
  removeDir,
  sharedPki,
  spawnServer,
  startTestServer,
  tempDir,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';
import { dbBackup, dbPostgres, open, quantile, sleep, webHttps } from './fixtures.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { AuditRecord } from '../../server/audit/record.js';
import type { Store } from '../../server/store/store.js';
import { IdentityRateLimiter, REFUSAL_ACTION, RefusalLog } from '../../server/limits/index.js';
import { LOAD_LIMITS } from '../helpers/pinhole.js';

/** A refusal record's detail, as RefusalLog writes it. */
interface RefusalDetail {
  readonly limit: string;
  readonly count: number;
  readonly method?: string;
  readonly retryAfterMs?: number;
  readonly message?: string;
  readonly summary?: boolean;
  readonly windowStartMs?: number;
  readonly windowEndMs?: number;
  readonly methods?: Record<string, number>;
  readonly identities?: string[];
}

type RefusalRecord = AuditRecord & { readonly detail: RefusalDetail };

const isRefusal = (r: AuditRecord): r is RefusalRecord => r.action === REFUSAL_ACTION;

/** The refusal records of `actor` in a store, oldest first. */
async function storedRefusals(store: Pick<Store, 'auditRecords'>, actor?: string): Promise<RefusalRecord[]> {
  const all = await store.auditRecords({ limit: 1_000_000 });
  return all.filter(isRefusal).filter((r) => actor === undefined || r.actor === actor);
}

/** The refusal records of `actor` in a (closed) server's database file. */
async function refusalRecords(path: string, actor: string): Promise<RefusalRecord[]> {
  const store = SqliteStore.open({ path });
  try {
    return await storedRefusals(store, actor);
  } finally {
    await store.close();
  }
}

/** Polls until `check` returns a value (never asserts a duration; the test timeout bounds it). */
async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    await sleep(20);
  }
}

const RETRY_AFTER = 'pinhole-retry-after-ms';

describe('per-identity rate limit', () => {
  let ts: TestServer;
  let web: OpeningClient;
  let db: OpeningClient;
  beforeAll(async () => {
    ts = await startTestServer({ limits: { requestsPerSecond: 1, burst: 3 } });
    web = hostClient(ts.address, ts.certDir, 'web-1');
    db = hostClient(ts.address, ts.certDir, 'db-1');
  });
  afterAll(async () => {
    web.close();
    db.close();
    await ts.close();
    removeDir(ts.dataDir);
  });

  it('refuses the call past the burst with RESOURCE_EXHAUSTED, a retry-after, and spares other hosts', async () => {
    const first = await open(web, webHttps('rl-1'));
    await unaryCall(web, web.Renew, { leaseId: first.lease?.id ?? '' });
    await unaryCall(web, web.Release, { leaseId: first.lease?.id ?? '' });
    const err = await callError(open(web, webHttps('rl-2')));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(
      /^rate limit: host\/web-1 exceeded 1 requests\/s \(burst 3\) for Open\/Renew\/Release \(Open\); retry after \d+ ms$/,
    );
    const retryAfter = Number(err.metadata.get(RETRY_AFTER)[0]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(1000);
    // Another identity has its own bucket; ListMine is not rate-limited.
    expect((await open(db, dbPostgres('rl-db-1'))).decision?.outcome).toBe('GRANTED');
    await unaryCall(web, web.ListMine, {});
    await sleep(retryAfter + 20);
    expect((await open(web, webHttps('rl-3'))).decision?.outcome).toBe('GRANTED');
  });
});

describe('quotas', () => {
  let ts: TestServer;
  let web: OpeningClient;
  let db: OpeningClient;
  beforeAll(async () => {
    ts = await startTestServer({
      limits: { maxLiveLeasesPerHost: 2, maxPendingPerHost: 1, maxWatchStreamsPerFirewall: 1 },
    });
    web = hostClient(ts.address, ts.certDir, 'web-1');
    db = hostClient(ts.address, ts.certDir, 'db-1');
  });
  afterAll(async () => {
    web.close();
    db.close();
    await ts.close();
    removeDir(ts.dataDir);
  });

  it('live leases per host: the third Open is refused naming the quota and the count; a release frees a slot', async () => {
    const a = await open(web, webHttps('q-1'));
    await open(web, webHttps('q-2'));
    const err = await callError(open(web, webHttps('q-3')));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe(
      'quota limits.maxLiveLeasesPerHost: host web-1 has 2 live leases (limit 2); release leases it no longer needs and retry',
    );
    expect(err.metadata.get(RETRY_AFTER)).toEqual(['1000']);
    // A retry of an acknowledged request is still answered (idempotency is not a new lease).
    expect((await open(web, webHttps('q-1'))).lease?.id).toBe(a.lease?.id);
    await unaryCall(web, web.Release, { leaseId: a.lease?.id ?? '' });
    expect((await open(web, webHttps('q-3'))).decision?.outcome).toBe('GRANTED');
  });

  it('pending requests per host: the second request awaiting an admin is refused', async () => {
    expect((await open(db, dbBackup('p-1'))).decision?.outcome).toBe('PENDING');
    const err = await callError(open(db, dbBackup('p-2')));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe(
      'quota limits.maxPendingPerHost: host db-1 has 1 pending requests (limit 1); wait for an administrator to decide the pending ones and retry',
    );
    expect(err.metadata.get(RETRY_AFTER)).toEqual(['1000']);
  });

  it('watch streams per firewall: a second concurrent stream is refused, the first keeps running', async () => {
    const client = watchClient(ts.address, readClientTls(ts.certDir, 'firewall-gw-1'));
    const first = client.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } });
    await new Promise<void>((resolve) =>
      first.once('data', () => {
        resolve();
      }),
    );
    const second = client.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } });
    const err = await new Promise<ServiceError>((resolve) =>
      second.on('error', resolve).on('data', () => undefined),
    );
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe(
      'quota limits.maxWatchStreamsPerFirewall: firewall/gw-1 has 1 open lease streams (limit 1); close one (or resume on the existing stream) and retry',
    );
    expect(err.metadata.get(RETRY_AFTER)).toEqual(['1000']);
    // The slot is given back when the first stream ends. Cancelling ends a stream with
    // CANCELLED; that is the expected end here, anything else fails the test.
    const cancelled = (stream: typeof first): Promise<void> =>
      new Promise((resolve, reject) =>
        stream.once('error', (e: ServiceError) => {
          if (e.code === status.CANCELLED) resolve();
          else reject(e);
        }),
      );
    const firstEnded = cancelled(first);
    first.cancel();
    await firstEnded;
    await sleep(100);
    const third = client.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } });
    const event = await new Promise<WatchEvent__Output>((resolve, reject) =>
      third.once('data', resolve).once('error', reject),
    );
    expect(event.type).not.toBe('');
    const thirdEnded = cancelled(third);
    third.cancel();
    await thirdEnded;
    client.close();
  });
});

describe('a flood from one host does not starve another', () => {
  const SAMPLES = 80;
  const PACE_MS = 25;

  async function measure(web: OpeningClient, tag: string): Promise<number[]> {
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = performance.now();
      const answer = await open(web, webHttps(`${tag}-${i}`));
      latencies.push(performance.now() - t0);
      expect(answer.decision?.outcome).toBe('GRANTED');
      await sleep(PACE_MS);
    }
    return latencies;
  }

  // The latency ratio (goal: web-1's p99 within 3x) is a performance figure: it is printed here
  // and measured against its goal by `npm run bench`, never asserted on a shared test machine.
  it('a db-1 flood is refused by its own limit while every web-1 Open is still granted', async () => {
    const dataDir = tempDir();
    const certDir = sharedPki();
    // 50/s with burst 50 per identity: web-1's paced 40/s fits, db-1's flood is mostly refused.
    // On a real network the flooding host's CPU is another machine's. On this loopback test the
    // server gets one core and the flooding client the other, so the figure measures how the
    // server treats a well-behaved host under a flood, not two processes fighting for one core.
    const pinned = availableParallelism() >= 2;
    const server = await spawnServer({
      dataDir,
      certDir,
      config: { log: { level: 'warn' }, limits: { requestsPerSecond: 50, burst: 50 } },
      ...(pinned ? { wrap: ['taskset', '-c', '0'] } : {}),
    });
    const web = hostClient(server.address, certDir, 'web-1');
    try {
      await measure(web, 'warm'); // TLS, JIT and the SQLite cache warm up before anything is measured
      await sleep(1000); // refill web-1's bucket
      const quiet = await measure(web, 'quiet');
      await sleep(1000);
      // The flooding client runs niced, on the other core when there is one.
      const flood = spawn(
        pinned ? 'taskset' : 'nice',
        [
          ...(pinned ? ['-c', '1', 'nice'] : []),
          '-n',
          '19',
          process.execPath,
          '--import',
          'tsx',
          join(REPO, 'test', 'hardening', 'flood-child.ts'),
          server.address,
          certDir,
          'db-1',
          '64',
          '200000',
          '15000',
        ],
        { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      flood.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<void>((resolve) =>
        flood.once('exit', () => {
          resolve();
        }),
      );
      while (!out.includes('flood started')) await sleep(20);
      await sleep(500); // the flood is at full rate
      const loaded = await measure(web, 'loaded');
      flood.kill('SIGTERM');
      await exited;
      const summary = JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? '{}') as Record<
        string,
        number
      >;
      const p99Quiet = quantile(quiet, 0.99);
      const p99Loaded = quantile(loaded, 0.99);
      console.log(
        `[flood] web-1 Open p50/p99 quiet ${quantile(quiet, 0.5).toFixed(2)}/${p99Quiet.toFixed(2)} ms; ` +
          `under db-1 flood ${quantile(loaded, 0.5).toFixed(2)}/${p99Loaded.toFixed(2)} ms (ratio ${(p99Loaded / p99Quiet).toFixed(2)}); ` +
          `flood ${JSON.stringify(summary)}`,
      );
      // The limit held: db-1 was refused, and it got no more grants than its bucket allows over the
      // flood's run (burst + rate x seconds, a second's slack for the server's own clock). Not
      // "refused most of it": how far past the limit the flood gets depends on the machine's speed.
      expect(summary.exhausted ?? 0).toBeGreaterThan(0);
      expect(summary.ok ?? 0).toBeLessThanOrEqual(50 + 50 * ((summary.ms ?? 0) / 1000 + 1));
      expect(summary.other ?? 0).toBe(0); // refusals are RESOURCE_EXHAUSTED, nothing else
      expect(loaded).toHaveLength(SAMPLES); // every web-1 Open under the flood was GRANTED (see measure)
      // The flood is in the request log as two records, not thousands: the first refusal and, at
      // shutdown, one summary counting the rest (the child waited for every answer before exiting).
      await server.kill('SIGTERM');
      const records = await refusalRecords(join(dataDir, 'pinhole.db'), 'host/db-1');
      console.log(
        `[flood] ${summary.exhausted ?? 0} refusals of db-1 -> ${records.length} request-log records`,
      );
      expect(records).toHaveLength(2);
      expect(records.map((r) => r.detail.count)).toEqual([1, (summary.exhausted ?? 0) - 1]);
    } finally {
      web.close();
      await server.kill('SIGTERM');
      removeDir(dataDir);
    }
  }, 90_000);
});

describe('refused requests in the request log', () => {
  it('a single refusal is one record naming the identity, the limit and the retry time', async () => {
    const ts = await startTestServer({ limits: { requestsPerSecond: 1, burst: 1 } });
    const web = hostClient(ts.address, ts.certDir, 'web-1');
    try {
      expect((await open(web, webHttps('one-1'))).decision?.outcome).toBe('GRANTED');
      const err = await callError(open(web, webHttps('one-2')));
      expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
      const retryAfter = Number(err.metadata.get(RETRY_AFTER)[0]);
      const store = ts.server.store;
      const [record] = await until(async () => {
        const found = await storedRefusals(store);
        return found.length > 0 ? found : undefined;
      });
      expect(record).toMatchObject({
        actor: 'host/web-1',
        action: 'limit-refused',
        outcome: 'RESOURCE_EXHAUSTED',
        detail: { limit: 'limits.requestsPerSecond', method: 'Open', retryAfterMs: retryAfter, count: 1 },
      });
      expect(record?.peer).toMatch(/^(ipv4:)?127\.0\.0\.1:\d+$/);
      expect(record?.detail.message).toBe(err.details);
    } finally {
      web.close();
      await ts.close();
    }
    // Nothing else was refused, so shutdown adds no summary.
    expect(await refusalRecords(join(ts.dataDir, 'pinhole.db'), 'host/web-1')).toHaveLength(1);
    removeDir(ts.dataDir);
  });

  it('a flood past a quota is two records: the first refusal and a summary with the count', async () => {
    const ts = await startTestServer({ limits: { ...LOAD_LIMITS, maxLiveLeasesPerHost: 1 } });
    const db = hostClient(ts.address, ts.certDir, 'db-1');
    let refused = 0;
    try {
      expect((await open(db, dbPostgres('quota-0'))).decision?.outcome).toBe('GRANTED');
      // Bounded and on loopback: 10 rounds of 30 concurrent Opens.
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.allSettled(
          Array.from({ length: 30 }, (_, i) => open(db, dbPostgres(`quota-${round}-${i}`))),
        );
        for (const a of answers) {
          if (a.status === 'rejected' && (a.reason as ServiceError).code === status.RESOURCE_EXHAUSTED)
            refused++;
        }
      }
      expect(refused).toBe(300);
      // While the window is open only the first refusal is written.
      const store = ts.server.store;
      const first = await until(async () => (await storedRefusals(store, 'host/db-1'))[0]);
      expect(first.detail).toMatchObject({ limit: 'limits.maxLiveLeasesPerHost', method: 'Open', count: 1 });
      expect(first.requestId).toMatch(/^quota-0-\d+$/);
      expect(await storedRefusals(store, 'host/db-1')).toHaveLength(1);
    } finally {
      db.close();
      await ts.close();
    }
    // Shutdown ends the window: one summary counts the other 299.
    const records = await refusalRecords(join(ts.dataDir, 'pinhole.db'), 'host/db-1');
    console.log(`[refusals] ${refused} quota refusals -> ${records.length} request-log records`);
    expect(records).toHaveLength(2);
    expect(records[1]?.detail).toMatchObject({
      limit: 'limits.maxLiveLeasesPerHost',
      summary: true,
      count: refused - 1,
      methods: { Open: refused - 1 },
      windowStartMs: records[0]?.atMs,
    });
    removeDir(ts.dataDir);
  });

  describe('windows (a real SQLite store, short windows)', () => {
    let dir: string;
    let store: SqliteStore;
    beforeAll(() => {
      dir = tempDir();
      store = SqliteStore.open({ path: join(dir, 'refusals.db') });
    });
    afterAll(async () => {
      await store.close();
      removeDir(dir);
    });

    it('writes the summary when the window ends, and opens a new window with a record after it', async () => {
      const log = new RefusalLog({
        write: (records) => store.commit({ audit: records }).then(() => undefined),
        windowMs: 200,
      });
      const limiter = new IdentityRateLimiter({ requestsPerSecond: 0.001, burst: 1, refusals: log });
      limiter.admit('host/flooder', 'Open');
      for (let i = 0; i < 50; i++)
        expect(() => {
          limiter.admit('host/flooder', i % 2 === 0 ? 'Open' : 'Renew');
        }).toThrow(/rate limit/);
      const summary = await until(async () => (await storedRefusals(store, 'host/flooder'))[1]);
      expect(summary.detail).toMatchObject({ summary: true, count: 49, methods: { Open: 24, Renew: 25 } });
      expect((summary.detail.windowEndMs ?? 0) - (summary.detail.windowStartMs ?? 0)).toBe(200);
      // The next refusal, after the window, is recorded at once again.
      expect(() => {
        limiter.admit('host/flooder', 'Release');
      }).toThrow(/rate limit/);
      const third = await until(async () => (await storedRefusals(store, 'host/flooder'))[2]);
      expect(third.detail).toMatchObject({ method: 'Release', count: 1 });
      await log.close();
      expect(await storedRefusals(store, 'host/flooder')).toHaveLength(3);
    });

    it('tracks at most maxTracked identities; the rest share one overflow summary per limit', async () => {
      const log = new RefusalLog({
        write: (records) => store.commit({ audit: records }).then(() => undefined),
        maxTracked: 3,
      });
      const limiter = new IdentityRateLimiter({ requestsPerSecond: 0.001, burst: 1, refusals: log });
      const ids = Array.from({ length: 10 }, (_, i) => `host/many-${i}`);
      for (const id of ids) limiter.admit(id, 'Open');
      for (let round = 0; round < 4; round++) {
        for (const id of ids)
          expect(() => {
            limiter.admit(id, 'Open');
          }).toThrow(/rate limit/);
        expect(log.tracked).toBeLessThanOrEqual(4);
      }
      await log.close();
      const records = (await storedRefusals(store)).filter(
        (r) => r.actor.startsWith('host/many-') || r.actor === '*',
      );
      // Three tracked identities: a first record and a summary of 3 each; seven in the overflow,
      // which names as many identities as are tracked (a bound too).
      expect(records.filter((r) => r.detail.summary !== true).map((r) => r.actor)).toEqual(ids.slice(0, 3));
      const overflow = records.find((r) => r.actor === '*');
      expect(overflow?.detail).toMatchObject({ count: 28, identities: ids.slice(3, 6) });
      const total = records.reduce((n, r) => n + r.detail.count, 0);
      expect(total).toBe(40);
    });
  });
});
