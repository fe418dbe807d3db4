/**
 * PostgreSQL restarts in the middle of a load: while it is down, Opens fail at once with
 * UNAVAILABLE and a message that says the database is unreachable; afterwards the servers recover
 * by themselves (new pool connections, a new LISTEN connection that re-reads from the last
 * revision), nothing acknowledged is lost, the watcher misses nothing, and the audit chain verifies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { verifyChain } from '../../server/audit/verify.js';
import { auditRecords } from '../../server/store/postgres/pg-reads.js';
import {
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
let url: string;
let root: string;
let certDir: string;
let a: ServerProcess;
let b: ServerProcess;
let watcher: WatchLog;

beforeAll(async () => {
  root = tempDir();
  certDir = sharedPki();
  cluster = await startPostgres();
  url = await cluster.createDatabase('outage');
  const start = (name: string): Promise<ServerProcess> => {
    const dataDir = join(root, name);
    mkdirSync(dataDir);
    return spawnServer({
      dataDir,
      certDir,
      config: { store: { kind: 'postgres', url }, log: { level: 'warn' }, limits: LOAD_LIMITS },
    });
  };
  [a, b] = await Promise.all([start('a'), start('b')]);
  watcher = watchAll(b.address, certDir, 'firewall-gw-1');
  await waitUntil(
    'the watch stream to open',
    () => watcher.events.some((e) => e.type === 'PROGRESS'),
    10_000,
  );
}, 90_000);

afterAll(async () => {
  watcher.close();
  for (const p of [a, b]) await p.kill('SIGKILL');
  await cluster.close();
  removeDir(root);
});

describe('PostgreSQL restart under load', () => {
  it('fails requests fast with UNAVAILABLE during the outage and recovers without losing anything', async () => {
    const web = hostClient(a.address, certDir, 'web-1');
    let stop = false;
    let granted = 0;
    const load = openLoad({
      client: web,
      prefix: 'outage',
      ttlSeconds: 600,
      concurrency: 8,
      pauseMs: 5,
      stop: () => stop,
      onAck: () => granted++,
    });
    await waitUntil('grants before the outage', () => granted >= 100, 20_000);

    const down = Date.now();
    await cluster.stop();
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.start();
    const up = Date.now();
    const before = granted;
    await waitUntil('grants after the restart', () => granted >= before + 100, 20_000);
    stop = true;
    const { acked, failed } = await load;

    expect(failed.length).toBeGreaterThan(0);
    expect(failed.filter((f) => f.code !== 14)).toEqual([]); // 14 = UNAVAILABLE
    expect(failed.filter((f) => !/the database is unreachable: .+; retry|the store/.test(f.details))).toEqual(
      [],
    );
    // Fast: no request waited for a connect timeout; all failed while PostgreSQL was down (or just restarting).
    expect(Math.max(...failed.map((f) => f.latencyMs))).toBeLessThan(2000);
    expect(failed.filter((f) => f.atMs < down || f.atMs > up + 3000)).toEqual([]);

    // Retried with the same request id, a request whose commit did land gets its first answer back.
    const retried = await Promise.all(
      failed.map(async (f) => {
        const res = await unaryCall<OpenRequest, OpenResponse__Output>(
          web,
          web.Open,
          openRequest(f.requestId, 600),
        );
        return res.lease?.id;
      }),
    );
    web.close();
    expect(retried.every((id) => id !== undefined && id !== '')).toBe(true);

    const db = new pg.Pool({ connectionString: url, max: 2 });
    try {
      const ids = [...acked.map((g) => g.leaseId), ...retried.filter((id): id is string => id !== undefined)];
      const { rows } = await db.query<{ n: string }>(
        'SELECT count(*) AS n FROM leases WHERE live AND id = ANY($1::text[])',
        [ids],
      );
      expect(Number(rows[0]?.n)).toBe(new Set(ids).size);
      const { rows: dupes } = await db.query(
        `SELECT json::json->>'requestId' AS rid FROM leases GROUP BY 1 HAVING count(*) > 1`,
      );
      expect(dupes).toEqual([]);
      const verdict = await verifyChain((after, limit) => auditRecords(db, after, limit));
      expect(verdict.problem).toBe('');
      expect(verdict.records).toBeGreaterThanOrEqual(ids.length);

      const { rows: meta } = await db.query<{ revision: string }>('SELECT revision FROM meta');
      const head = Number(meta[0]?.revision);
      await waitUntil(
        `the watcher on B to reach revision ${head}`,
        () => watcher.maxRevision() >= head,
        15_000,
      );
      expect(orderProblem(watcher.changes(), head)).toBe('');
      expect(watcher.error()).toBeUndefined();
    } finally {
      await db.end();
    }
  });
});
