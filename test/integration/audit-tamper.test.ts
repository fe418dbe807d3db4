/**
 * The request log is evidence: `pinhole audit verify` recomputes its hash chain offline and
 * names the first record that was altered, removed or cut off the end. And a state change
 * without its audit record cannot happen: both commit in one transaction, so when the audit
 * insert fails the grant fails with it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { ListMineResponse__Output } from '../../proto/gen/pinhole/v1/ListMineResponse.js';
import { callError, hostClient, removeDir, tempDir, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { verifyAuditFile } from '../../server/cli/audit.js';
import { pinhole, startAdminTestServer } from './admin-fixtures.js';

const request = (requestId: string, description: string, port = 5432): OpenRequest => ({
  requestId,
  openings: [{ ports: { protocol: 'TCP', from: port, to: port }, sources: [{ cidr: '198.18.1.0/24' }] }],
  requestedTtlSeconds: 300,
  description,
});

let dataDir: string;
let records: number;

/** A copy of the closed server's database and head file, to tamper with. */
function copyOfLog(name: string): { db: string; dir: string } {
  const dir = join(dataDir, name);
  rmSync(dir, { recursive: true, force: true });
  const db = join(dir, 'pinhole.db');
  mkdirSync(dir, { recursive: true });
  for (const suffix of ['', '-wal', '-shm', '.audit-head']) {
    const from = join(dataDir, `pinhole.db${suffix}`);
    if (existsSync(from)) copyFileSync(from, `${db}${suffix}`);
  }
  return { db, dir };
}

function tamper(db: string, sql: string, ...params: unknown[]): void {
  const conn = new Database(db);
  conn.prepare(sql).run(...params);
  conn.close();
}

beforeAll(async () => {
  dataDir = tempDir();
  const ts = await startAdminTestServer(undefined, dataDir);
  const web = hostClient(ts.address, ts.certDir, 'web-1');
  try {
    // Grants, a denial, a renewal and a release: every kind of record the engine writes.
    const first: OpenResponse__Output = await unaryCall(
      web,
      web.Open,
      request('tamper-1', 'orders database'),
    );
    await unaryCall(web, web.Open, request('tamper-2', 'reports database'));
    await unaryCall(web, web.Open, request('tamper-telnet', 'legacy console', 23));
    await unaryCall(web, web.Renew, { leaseId: first.lease?.id ?? '' });
    await unaryCall(web, web.Release, { leaseId: first.lease?.id ?? '' });
    for (let i = 0; i < 5; i++) await unaryCall(web, web.Open, request(`tamper-more-${i}`, `batch ${i}`));
  } finally {
    web.close();
    await ts.close();
  }
  records = (await verifyAuditFile(join(dataDir, 'pinhole.db'))).records;
});

afterAll(() => {
  removeDir(dataDir);
});

describe('pinhole audit verify', () => {
  it('passes an untouched log', () => {
    expect(records).toBeGreaterThanOrEqual(10);
    const r = pinhole('audit', 'verify', '--data-dir', dataDir);
    expect(r.stdout.trim()).toBe(`ok: ${records} records`);
    expect(r.code).toBe(0);
  });

  it('-c server.yaml verifies the SQLite file the configuration names, head file included', () => {
    const config = join(dataDir, 'verify-config.yaml');
    writeFileSync(config, `dataDir: ${dataDir}\n`);
    const r = pinhole('audit', 'verify', '-c', config);
    expect(r.stdout.trim()).toBe(`ok: ${records} records`);
    expect(r.stderr).not.toContain('no chain head file');
    expect(r.code).toBe(0);
    const both = pinhole('audit', 'verify', '-c', config, '--db', join(dataDir, 'pinhole.db'));
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('--db and --config: give one of them, not both');
  });

  it('names the record whose detail had one byte changed', () => {
    const { db } = copyOfLog('altered');
    const conn = new Database(db);
    const row = conn
      .prepare<[], { seq: number; detail: string }>(
        "SELECT seq, detail FROM audit WHERE detail LIKE '%reports database%'",
      )
      .get();
    expect(row).toBeDefined();
    const i = row!.detail.indexOf('reports database');
    // "reports" -> "reporta": still valid JSON, same length, one byte different.
    const altered = `${row!.detail.slice(0, i + 6)}a${row!.detail.slice(i + 7)}`;
    conn.prepare('UPDATE audit SET detail = ? WHERE seq = ?').run(altered, row!.seq);
    conn.close();
    const r = pinhole('audit', 'verify', '--db', db);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe(
      `FAILED at record ${row!.seq}: record ${row!.seq} was altered: its content does not match its hash`,
    );
  });

  it('names a record whose detail is no longer JSON', () => {
    const { db } = copyOfLog('garbled');
    tamper(db, 'UPDATE audit SET detail = substr(detail, 2) WHERE seq = 4');
    const r = pinhole('audit', 'verify', '--db', db);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAILED at record 4: record 4 was altered/);
  });

  it('names a deleted record', () => {
    const { db } = copyOfLog('deleted');
    tamper(db, 'DELETE FROM audit WHERE seq = 3');
    const r = pinhole('audit', 'verify', '--db', db);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAILED at record 3: record 3 is missing/);
  });

  it('detects the newest records cut off the end, through the chain head file', () => {
    const { db } = copyOfLog('truncated');
    tamper(db, 'DELETE FROM audit WHERE seq > ?', records - 2);
    const r = pinhole('audit', 'verify', '--db', db);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe(
      `FAILED at record ${records - 1}: records ${records - 1}-${records} were removed from the end of the log (the recorded chain head is ${records})`,
    );
    // Without the head file the cut is invisible; the tool says it could not check.
    rmSync(`${db}.audit-head`);
    const blind = pinhole('audit', 'verify', '--db', db);
    expect(blind.code).toBe(0);
    expect(blind.stderr).toMatch(/no chain head file/);
  });

  it('refuses a missing database with a clear message', () => {
    const r = pinhole('audit', 'verify', '--db', join(dataDir, 'nope.db'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.db does not exist/);
    expect(existsSync(join(dataDir, 'nope.db'))).toBe(false);
  });
});

describe('a state change and its audit record commit together', () => {
  let ts: TestServer;
  let web: OpeningClient;
  beforeAll(async () => {
    ts = await startAdminTestServer();
    web = hostClient(ts.address, ts.certDir, 'web-1');
  });
  afterAll(async () => {
    web.close();
    await ts.close();
    removeDir(ts.dataDir);
  });

  it('when the audit insert fails, Open fails and no lease, answer or record is left behind', async () => {
    const dbPath = join(ts.dataDir, 'pinhole.db');
    // A second connection adds a trigger that fails exactly this request's audit insert, as a
    // full disk or a crash between the two writes would.
    const side = new Database(dbPath);
    side.exec(`CREATE TRIGGER fail_audit BEFORE INSERT ON audit WHEN NEW.request_id = 'crash-1'
               BEGIN SELECT RAISE(ABORT, 'simulated failure writing the audit record'); END`);
    try {
      const err = await callError(unaryCall(web, web.Open, request('crash-1', 'must not half-happen')));
      // An error reached the host, not a grant. (Today INTERNAL: the store passes a failed
      // savepoint's raw SQLite error through; UNAVAILABLE with a retry hint would serve hosts better.)
      expect([status.INTERNAL, status.UNAVAILABLE]).toContain(err.code);
      expect(side.prepare("SELECT count(*) AS n FROM leases WHERE json LIKE '%crash-1%'").get()).toEqual({
        n: 0,
      });
      expect(side.prepare("SELECT count(*) AS n FROM answers WHERE request_id = 'crash-1'").get()).toEqual({
        n: 0,
      });
      expect(side.prepare("SELECT count(*) AS n FROM audit WHERE request_id = 'crash-1'").get()).toEqual({
        n: 0,
      });
      const mine: ListMineResponse__Output = await unaryCall(web, web.ListMine, {});
      expect(mine.leases.some((l) => l.requestId === 'crash-1')).toBe(false);
    } finally {
      side.exec('DROP TRIGGER fail_audit');
      side.close();
    }
    // The request id was not burned, and the chain is intact around the failure.
    const retry: OpenResponse__Output = await unaryCall(
      web,
      web.Open,
      request('crash-1', 'must not half-happen'),
    );
    expect(retry.decision?.outcome).toBe('GRANTED');
    const verify = await ts.server.admin.verifyAudit({
      identity: {
        role: 'admin',
        name: 'test',
        trustDomain: ts.server.trustDomain,
        addresses: [],
        fingerprint: '',
        notAfterMs: 0,
      },
      peer: 'test',
    });
    expect(verify).toMatchObject({ ok: true });
  });
});
