import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { SQLITE_MIGRATIONS } from '../../server/store/sqlite/schema.js';
import { auditHash, GENESIS_HASH } from '../../server/audit/record.js';
import { PinholeError } from '../../server/core/errors.js';
import { auditFixture, deniedAnswer, leaseFixture } from '../helpers/leases.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const dirs: string[] = [];
function open(retainRevisions?: number): { store: SqliteStore; path: string } {
  const dir = tempDir();
  dirs.push(dir);
  const path = join(dir, 'p.db');
  return {
    store: SqliteStore.open(retainRevisions === undefined ? { path } : { path, retainRevisions }),
    path,
  };
}
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('SqliteStore', () => {
  it('runs in WAL mode with synchronous=FULL', async () => {
    const { store, path } = open();
    await store.close();
    const db = new Database(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('stamps one strictly increasing revision per commit, even when commits share a transaction', async () => {
    const { store } = open();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => {
        const lease = leaseFixture();
        return store.commit({ leases: [{ kind: 'put', lease }], audit: [auditFixture('open', lease.id)] });
      }),
    );
    const revisions = results.map((r) => r.revision);
    expect(revisions).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(store.revision).toBe(50);
    expect(results.every((r) => r.leases[0]?.revision === r.revision)).toBe(true);
    await store.close();
  });

  it('a failed precondition rolls back only its own mutation and consumes no revision', async () => {
    const { store } = open();
    const a = leaseFixture();
    const first = await store.commit({ leases: [{ kind: 'put', lease: a }], audit: [] });
    const [stale, fresh] = await Promise.allSettled([
      store.commit({
        expect: [{ leaseId: a.id, revision: 999 }],
        leases: [{ kind: 'end', lease: a, reason: 'released' }],
        audit: [auditFixture('release', a.id)],
      }),
      store.commit({ leases: [{ kind: 'put', lease: leaseFixture() }], audit: [auditFixture('open')] }),
    ]);
    expect(stale.status).toBe('rejected');
    expect((stale as PromiseRejectedResult).reason).toBeInstanceOf(PinholeError);
    expect(((stale as PromiseRejectedResult).reason as PinholeError).code).toBe('FAILED_PRECONDITION');
    expect(fresh.status === 'fulfilled' && fresh.value.revision).toBe(first.revision + 1);
    expect((await store.getLease(a.id))?.state).toBe('granted');
    expect(await store.auditRecords({})).toHaveLength(1); // the rolled-back mutation's audit record is gone too
    await store.close();
  });

  it('refuses a second answer for the same (host, request id)', async () => {
    const { store } = open();
    const answer = deniedAnswer(store.epoch);
    await store.commit({ answer: { host: 'web-1', requestId: 'x', requestHash: 'h', answer }, audit: [] });
    await expect(
      store.commit({ answer: { host: 'web-1', requestId: 'x', requestHash: 'h', answer }, audit: [] }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await store.commit({ answer: { host: 'db-1', requestId: 'x', requestHash: 'h', answer }, audit: [] }); // other host, same id: fine
    expect((await store.findAnswer('web-1', 'x'))?.requestHash).toBe('h');
    await store.close();
  });

  it('chains audit records by hash and restores the chain head, revision and epoch on reopen', async () => {
    const { store, path } = open();
    const epoch = store.epoch;
    for (let i = 0; i < 3; i++)
      await store.commit({ leases: [{ kind: 'put', lease: leaseFixture() }], audit: [auditFixture('open')] });
    await store.close();
    const again = SqliteStore.open({ path });
    expect(again.epoch).toBe(epoch);
    expect(again.revision).toBe(3);
    await again.commit({ audit: [auditFixture('renew')] });
    const records = await again.auditRecords({});
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(records[0]?.prevHash).toBe(GENESIS_HASH);
    for (const [i, r] of records.entries()) {
      const { hash, ...rest } = r;
      expect(hash).toBe(auditHash(rest));
      if (i > 0) expect(r.prevHash).toBe(records[i - 1]?.hash);
    }
    await again.close();
  });

  it('returns due leases, an ordered event log, and compacts old events', async () => {
    const { store } = open(10);
    const past = leaseFixture({ expiresAtMs: Date.now() - 1 });
    await store.commit({ leases: [{ kind: 'put', lease: past }], audit: [] });
    expect((await store.dueForExpiry(Date.now(), 10)).map((l) => l.id)).toEqual([past.id]);
    await store.commit({ leases: [{ kind: 'end', lease: past, reason: 'expired' }], audit: [] });
    expect(await store.dueForExpiry(Date.now(), 10)).toEqual([]);
    const events = await store.eventsAfter(0, 100);
    expect(events !== 'compacted' && events.map((e) => [e.revision, e.type, e.reason])).toEqual([
      [1, 'UPSERT', undefined],
      [2, 'DELETE', 'expired'],
    ]);
    for (let i = 0; i < 30; i++)
      await store.commit({ leases: [{ kind: 'put', lease: leaseFixture() }], audit: [] });
    expect(store.compactedRevision).toBeGreaterThan(0);
    expect(await store.eventsAfter(0, 100)).toBe('compacted');
    const recent = await store.eventsAfter(store.compactedRevision, 100);
    expect(recent !== 'compacted' && recent[0]?.revision).toBe(store.compactedRevision + 1);
    await store.close();
  });

  it('stores an answer with its stamped lease, as committed, and replays it after reopen', async () => {
    const { store, path } = open();
    const lease = leaseFixture({ receipt: 'r'.repeat(700) });
    const answer = {
      decision: {
        outcome: 'GRANTED',
        ruleId: 'web-public',
        reason: 'r',
        narrowings: [],
        wouldAllow: '',
        openings: [],
        rules: lease.rules,
        ttlSeconds: lease.ttlSeconds,
        maxLifetimeSeconds: 3600,
      },
      serverEpoch: store.epoch,
      lease,
    } as const;
    const result = await store.commit({
      leases: [{ kind: 'put', lease }],
      answer: { host: lease.host, requestId: lease.requestId, requestHash: 'h', answer },
      audit: [auditFixture('open', lease.id)],
    });
    expect(result.answer).toEqual({ ...answer, lease: { ...lease, revision: 1 } });
    await store.close();
    const again = SqliteStore.open({ path });
    expect(await again.findAnswer(lease.host, lease.requestId)).toEqual({
      requestHash: 'h',
      answer: result.answer,
    });
    await again.close();
  });

  it('migrates a schema-2 database (WITHOUT ROWID events and answers) keeping its events and answers', async () => {
    const { store, path } = open();
    const lease = leaseFixture();
    const answer = deniedAnswer(store.epoch);
    await store.commit({ leases: [{ kind: 'put', lease }], audit: [auditFixture('open', lease.id)] });
    await store.commit({ answer: { host: 'web-1', requestId: 'x', requestHash: 'h', answer }, audit: [] });
    await store.close();
    // Put the two tables back as schema 2 had them, rows included, and mark the file version 2.
    const db = new Database(path);
    db.exec(`
      CREATE TABLE events_old (revision INTEGER NOT NULL, idx INTEGER NOT NULL, type TEXT NOT NULL,
        reason TEXT, json TEXT NOT NULL, PRIMARY KEY (revision, idx)) STRICT, WITHOUT ROWID;
      INSERT INTO events_old SELECT revision, idx, type, reason, json FROM events;
      DROP TABLE events; ALTER TABLE events_old RENAME TO events;
      CREATE TABLE answers_old (host TEXT NOT NULL, request_id TEXT NOT NULL, request_hash TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY (host, request_id)) STRICT, WITHOUT ROWID;
      INSERT INTO answers_old SELECT host, request_id, request_hash, created_at_ms, json FROM answers;
      DROP TABLE answers; ALTER TABLE answers_old RENAME TO answers;
    `);
    db.pragma('user_version = 2');
    db.close();
    const again = SqliteStore.open({ path });
    const events = await again.eventsAfter(0, 100);
    expect(events !== 'compacted' && events.map((e) => [e.revision, e.type, e.lease.id])).toEqual([
      [1, 'UPSERT', lease.id],
    ]);
    expect(await again.findAnswer('web-1', 'x')).toEqual({ requestHash: 'h', answer });
    await expect(
      again.commit({ answer: { host: 'web-1', requestId: 'x', requestHash: 'h', answer }, audit: [] }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await again.close();
    const check = new Database(path, { readonly: true });
    const withoutRowid = check
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID%'")
      .all();
    check.close();
    expect(withoutRowid).toEqual([]);
  });

  it('commits after close are refused as UNAVAILABLE', async () => {
    const { store } = open();
    await store.close();
    await expect(store.commit({ audit: [] })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await store.close(); // idempotent
  });
});

describe('SqliteStore migrations', () => {
  it('waits for another process migrating the same file, and does not run its steps again', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, 'p.db');
    // The other process: takes the write lock, runs every migration, holds the lock 300 ms, commits.
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[1]);
      db.pragma('journal_mode = WAL');
      const steps = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
      db.exec('BEGIN IMMEDIATE');
      for (const sql of steps) db.exec(sql);
      db.pragma('user_version = ' + steps.length);
      console.log('locked');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, 300);
    `;
    const other = spawn(process.execPath, ['-e', script, path], { stdio: ['pipe', 'pipe', 'inherit'] });
    other.stdin.end(JSON.stringify(SQLITE_MIGRATIONS));
    await new Promise<void>((resolve, reject) => {
      other.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('locked')) resolve();
      });
      other.once('exit', (code) => {
        reject(new Error(`the migrating process exited early (${String(code)})`));
      });
    });
    // Blocks in busy_timeout until the other commits; must then find the schema complete.
    const store = SqliteStore.open({ path });
    await store.commit({ leases: [{ kind: 'put', lease: leaseFixture() }], audit: [] });
    expect(store.revision).toBe(1);
    await store.close();
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_MIGRATIONS.length);
    db.close();
  });
});
