/**
 * Three `pinhole serve` processes on one PostgreSQL database (DESIGN.md §8): hosts open through
 * server A, a firewall watches through server B, every server sweeps expiries. The watcher must
 * see every revision once, in order; each lease must expire exactly once; a SIGKILL of A in the
 * middle of a load must lose no acknowledged grant and no event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import {
  EXAMPLE_POLICY,
  hostClient,
  removeDir,
  sharedPki,
  spawnServer,
  tempDir,
  unaryCall,
  type ServerProcess,
  LOAD_LIMITS,
} from '../helpers/pinhole.js';
import {
  openLoad,
  openRequest,
  orderProblem,
  startPostgres,
  waitUntil,
  watchAll,
  type TestPostgres,
  type WatchLog,
} from '../helpers/postgres.js';

let cluster: TestPostgres;
let db: pg.Pool;
let root: string;
let certDir: string;
let a: ServerProcess;
let b: ServerProcess;
let c: ServerProcess;
let watcher: WatchLog;

async function head(): Promise<number> {
  const { rows } = await db.query<{ revision: string }>('SELECT revision FROM meta');
  return Number(rows[0]?.revision ?? 0);
}

/** The firewall on B has received everything the database holds, in order. */
async function watcherCaughtUp(): Promise<number> {
  const top = await head();
  await waitUntil(`the watcher on B to reach revision ${top}`, () => watcher.maxRevision() >= top, 15_000);
  return top;
}

beforeAll(async () => {
  root = tempDir();
  certDir = sharedPki();
  cluster = await startPostgres();
  const url = await cluster.createDatabase('multi');
  db = new pg.Pool({ connectionString: url, max: 2 });
  // The example policy with a 1-second minimum TTL, so leases expire within the test.
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(
    policyFile,
    readFileSync(EXAMPLE_POLICY, 'utf8').replace(/min_ttl:\s*\d+[smhd]/, 'min_ttl: 1s'),
  );
  const start = (name: string): Promise<ServerProcess> => {
    const dataDir = join(root, name);
    mkdirSync(dataDir);
    return spawnServer({
      dataDir,
      certDir,
      policyFile,
      config: {
        store: { kind: 'postgres', url },
        leases: { sweepIntervalMs: 100 },
        log: { level: 'info' },
        limits: LOAD_LIMITS,
      },
    });
  };
  [a, b, c] = await Promise.all([start('a'), start('b'), start('c')]);
  watcher = watchAll(b.address, certDir, 'firewall-gw-1');
  await waitUntil(
    'the watch stream to open',
    () => watcher.events.some((e) => e.type === 'PROGRESS'),
    10_000,
  );
}, 90_000);

afterAll(async () => {
  watcher.close();
  for (const p of [a, b, c]) await p.kill('SIGKILL');
  await db.end();
  await cluster.close();
  removeDir(root);
});

describe('three servers on one PostgreSQL database', () => {
  it('streams every revision through B in order and expires 1,000 short leases exactly once', async () => {
    const web = hostClient(a.address, certDir, 'web-1');
    const { acked, failed } = await openLoad({
      client: web,
      prefix: 'short',
      ttlSeconds: 1,
      concurrency: 40,
      count: 1000,
    });
    web.close();
    expect(failed).toEqual([]);
    expect(acked).toHaveLength(1000);

    await waitUntil(
      'every lease to expire',
      async () =>
        (await db.query<{ n: string }>('SELECT count(*) AS n FROM leases WHERE live')).rows[0]?.n === '0',
      20_000,
    );
    const { rows } = await db.query<{ lease_id: string; n: string }>(
      `SELECT lease_id, count(*) AS n FROM audit WHERE action = 'expire' GROUP BY lease_id`,
    );
    const ids = new Set(acked.map((g) => g.leaseId));
    expect(rows.filter((r) => ids.has(r.lease_id))).toHaveLength(1000);
    expect(rows.filter((r) => r.n !== '1')).toEqual([]);
    // Each ending is logged by the one server whose commit won (logs are written asynchronously).
    const logged = (): number =>
      [a, b, c].reduce((sum, p) => sum + (p.output().match(/"msg":"lease expired"/g) ?? []).length, 0);
    await waitUntil('1,000 "lease expired" log lines', () => logged() >= 1000, 5000).catch(() => undefined);
    expect(logged()).toBe(1000);

    const top = await watcherCaughtUp();
    expect(orderProblem(watcher.changes(), top)).toBe('');
    const changes = watcher.changes();
    for (const type of ['UPSERT', 'DELETE']) {
      const seen = changes.filter((e) => e.type === type && ids.has(e.leaseId)).map((e) => e.leaseId);
      expect(seen).toHaveLength(1000);
      expect(new Set(seen).size).toBe(1000);
    }
    expect(watcher.error()).toBeUndefined();
  });

  it('loses no acknowledged grant and no event when A is killed during a load of Opens', async () => {
    const web = hostClient(a.address, certDir, 'web-1');
    let killed = false;
    let granted = 0;
    const load = openLoad({
      client: web,
      prefix: 'kill',
      ttlSeconds: 600,
      concurrency: 20,
      stop: () => killed,
      onAck: () => granted++,
    });
    await waitUntil('300 grants through A', () => granted >= 300, 20_000);
    await a.kill('SIGKILL'); // with 20 Opens in flight
    killed = true;
    const { acked, failed } = await load;
    web.close();
    expect(acked.length).toBeGreaterThan(100);

    // Every acknowledged grant is stored, live, with its idempotency answer.
    const { rows } = await db.query<{ id: string }>(
      'SELECT id FROM leases WHERE live AND id = ANY($1::text[])',
      [acked.map((g) => g.leaseId)],
    );
    expect(rows).toHaveLength(acked.length);
    // Requests cut off by the kill, retried through B, return the first answer if A had committed it.
    const viaB = hostClient(b.address, certDir, 'web-1');
    const retried = await Promise.all(
      failed.map(async (f) => {
        const res: OpenResponse__Output = await unaryCall(viaB, viaB.Open, openRequest(f.requestId, 600));
        return res.decision?.outcome;
      }),
    );
    viaB.close();
    expect(retried.every((o) => o === 'GRANTED')).toBe(true);
    const { rows: dupes } = await db.query(
      `SELECT json::json->>'requestId' AS rid FROM leases WHERE json::json->>'requestId' LIKE 'kill-%' GROUP BY 1 HAVING count(*) > 1`,
    );
    expect(dupes).toEqual([]);

    // The firewall on B missed nothing A committed before it died.
    const top = await watcherCaughtUp();
    expect(orderProblem(watcher.changes(), top)).toBe('');
    const upserts = new Set(
      watcher
        .changes()
        .filter((e) => e.type === 'UPSERT')
        .map((e) => e.leaseId),
    );
    expect(acked.filter((g) => !upserts.has(g.leaseId))).toEqual([]);
    expect(watcher.error()).toBeUndefined();
  });
});
