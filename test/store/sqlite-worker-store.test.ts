/**
 * SqliteWorkerStore beyond the conformance suite (which runs it as the `sqlite-worker` dialect):
 * errors keep their PinholeError fields across the thread hop, messages travel in ordered
 * batches, group commit still groups, close finishes queued commits, a dead worker fails calls
 * instead of hanging them, failpoints armed on the main thread fire in the worker, and the main
 * thread's view of revisions is the one SqliteStore gives on its own thread.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PinholeError } from '../../server/core/errors.js';
import { configureFailpoints } from '../../server/failpoints.js';
import { createRootLogger } from '../../server/log.js';
import { isPruneRefusal } from '../../server/audit/prune.js';
import { checkpointSigner } from '../../server/audit/checkpoint.js';
import { ReceiptSigner } from '../../server/identity/receipts.js';
import type { Mutation, StoredEvent } from '../../server/store/store.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import {
  crashWorkerForTests,
  SqliteWorkerStore,
  type SqliteWorkerStoreOptions,
} from '../../server/store/sqlite/sqlite-worker-store.js';
import { callError, decodeError, encodeError } from '../../server/store/sqlite/worker-errors.js';
import { Outbox } from '../../server/store/sqlite/outbox.js';
import { auditFixture, deniedAnswer, leaseFixture } from '../helpers/leases.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

const DAY_MS = 86_400_000;
const dirs: string[] = [];
const stores: SqliteWorkerStore[] = [];

function dbPath(): string {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, 'pinhole.db');
}

async function open(
  path = dbPath(),
  o: Omit<SqliteWorkerStoreOptions, 'path'> = {},
): Promise<{ store: SqliteWorkerStore; path: string }> {
  const store = await SqliteWorkerStore.open({ path, ...o });
  stores.push(store);
  return { store, path };
}

const put = (lease = leaseFixture()): Mutation => ({
  leases: [{ kind: 'put', lease }],
  audit: [auditFixture('open', lease.id)],
});

/** A logger whose lines a test can read. */
function capturedLog(): {
  log: ReturnType<typeof createRootLogger>;
  lines: { level: number; msg: string }[];
} {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk
        .toString()
        .split('\n')
        .filter((l) => l !== ''))
        lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { log: createRootLogger('info', sink), lines };
}

afterEach(async () => {
  configureFailpoints(undefined);
  for (const s of stores.splice(0)) await s.close();
});
afterAll(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});

describe('SqliteWorkerStore errors', () => {
  it('a conflicting mutation fails with the same PinholeError code, message and retry-after as on the main thread', async () => {
    const { store } = await open();
    const lease = leaseFixture();
    const [first] = (await store.commit(put(lease))).leases;
    const answer = deniedAnswer(store.epoch);
    await store.commit({ answer: { host: 'web-1', requestId: 'r', requestHash: 'h', answer }, audit: [] });
    const duplicate = await store
      .commit({ answer: { host: 'web-1', requestId: 'r', requestHash: 'h2', answer }, audit: [] })
      .catch((e: unknown) => e);
    expect(duplicate).toBeInstanceOf(PinholeError);
    expect(duplicate).toMatchObject({
      code: 'ALREADY_EXISTS',
      message: 'request_id r was already answered',
      transient: false,
    });
    const stale = await store
      .commit({
        expect: [{ leaseId: lease.id, revision: (first?.revision ?? 0) + 5 }],
        leases: [{ kind: 'end', lease, reason: 'released' }],
        audit: [],
      })
      .catch((e: unknown) => e);
    expect(stale).toBeInstanceOf(PinholeError);
    expect(stale).toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: `lease ${lease.id} changed concurrently; retry`,
      retryAfterMs: 0,
    });
    const missing = await store
      .commit({ expect: [{ leaseId: 'lse_nope', revision: 1 }], audit: [] })
      .catch((e: unknown) => e);
    expect(missing).toMatchObject({ name: 'PinholeError', code: 'NOT_FOUND' });
  });

  it('a prune refused over a tampered log is still a refusal on this side (retention stops instead of retrying)', async () => {
    const { store, path } = await open();
    for (let i = 0; i < 4; i++)
      await store.commit({ audit: [{ ...auditFixture('admin'), atMs: Date.now() - 10 * DAY_MS + i }] });
    const db = new Database(path);
    db.prepare("UPDATE audit SET outcome = 'DENIED' WHERE seq = 2").run();
    db.close();
    const keyDir = tempDir();
    dirs.push(keyDir);
    const signer = await ReceiptSigner.loadOrCreate(keyDir);
    const refused = await store
      .pruneAudit({ beforeMs: Date.now() - DAY_MS, by: 'test', sign: checkpointSigner(signer) })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PinholeError);
    expect(refused).toMatchObject({ code: 'FAILED_PRECONDITION', message: /record 2 was altered/ });
    expect(isPruneRefusal(refused)).toBe(true);
  });

  it('a signer that fails on the main thread fails the prune, and nothing is pruned', async () => {
    const { store } = await open();
    await store.commit({ audit: [{ ...auditFixture('admin'), atMs: Date.now() - 10 * DAY_MS }] });
    const failed = await store
      .pruneAudit({
        beforeMs: Date.now(),
        by: 'test',
        sign: () => Promise.reject(new PinholeError('UNAVAILABLE', 'the key is away', { retryAfterMs: 7 })),
      })
      .catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: 'UNAVAILABLE', message: 'the key is away', retryAfterMs: 7 });
    expect(await store.auditRecords({})).toHaveLength(1);
  });

  it('rebuilds errors as data: PinholeError fields and causes kept, anything else UNAVAILABLE with the cause', () => {
    const sqlite = Object.assign(new Error('database is locked'), {
      name: 'SqliteError',
      code: 'SQLITE_BUSY',
    });
    const wrapped = new PinholeError('INVALID_ARGUMENT', 'openings[0].port: bad', {
      field: 'openings[0].port',
      cause: sqlite,
    });
    const back = decodeError(structuredClone(encodeError(wrapped)));
    expect(back).toBeInstanceOf(PinholeError);
    expect(back).toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'openings[0].port',
      retryAfterMs: undefined,
    });
    expect(back.stack).toBe(wrapped.stack);
    expect(back.cause).toMatchObject({
      name: 'SqliteError',
      message: 'database is locked',
      code: 'SQLITE_BUSY',
    });
    const other = callError(structuredClone(encodeError(new TypeError('x is not a function'))), 'read');
    expect(other).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'the store could not be read; retry later',
      retryAfterMs: 1000,
    });
    expect(other.cause).toMatchObject({ name: 'TypeError', message: 'x is not a function' });
    expect(decodeError(encodeError('a string'))).toMatchObject({ message: 'a string' });
  });

  it('a call whose arguments cannot cross fails alone with UNAVAILABLE; the calls posted with it go on', async () => {
    const { store } = await open();
    const uncloneable = { ...put(), audit: [{ ...auditFixture('admin'), detail: { f: () => 1 } }] };
    const [bad, good] = await Promise.allSettled([store.commit(uncloneable), store.commit(put())]);
    expect(bad.status === 'rejected' && bad.reason).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'the store could not record this change; retry later',
      cause: { name: 'DataCloneError' },
    });
    expect(good.status === 'fulfilled' && good.value.revision).toBe(1);
  });

  it('an open that fails rejects with the reason SqliteStore.open gave', async () => {
    const dir = tempDir();
    dirs.push(dir);
    // A directory where the database file should be.
    await expect(SqliteWorkerStore.open({ path: dir })).rejects.toThrow(/unable to open database file/);
  });
});

describe('Outbox', () => {
  it('posts what is pushed before its flush runs as one batch, in order; an unsendable message alone is dropped', async () => {
    const sent: number[][] = [];
    const unsent: number[] = [];
    const outbox = new Outbox<number>({
      send: (batch) => {
        if (batch.includes(13)) throw new Error('cannot clone');
        sent.push([...batch]);
      },
      unsent: (m) => unsent.push(m),
      schedule: queueMicrotask,
    });
    outbox.push(1);
    outbox.push(2);
    await Promise.resolve().then(() => {
      outbox.push(3);
    });
    await new Promise((r) => setImmediate(r));
    outbox.push(4);
    outbox.push(13);
    outbox.push(5);
    await new Promise((r) => setImmediate(r));
    // 3 came in a microtask queued after the flush: a batch of its own, still in order.
    expect(sent).toEqual([[1, 2], [3], [4], [5]]);
    expect(unsent).toEqual([13]);
  });
});

describe('SqliteWorkerStore group commit and ordering', () => {
  it('commits that reach the worker in one turn share one transaction', async () => {
    const { store, path } = await open();
    // Transactions 1 (the first commit) and 2 (the twenty) pass; the third fails.
    configureFailpoints('before-commit=throw@3');
    // Another connection holds the write lock: the first commit's BEGIN IMMEDIATE waits in the
    // worker (busy_timeout), and the next twenty queue in its port meanwhile.
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    const first = store.commit(put());
    await new Promise((r) => setTimeout(r, 100));
    const batch = Array.from({ length: 20 }, () => store.commit(put()));
    await new Promise((r) => setTimeout(r, 100));
    blocker.exec('ROLLBACK');
    blocker.close();
    expect((await first).revision).toBe(1);
    expect((await Promise.all(batch)).map((r) => r.revision)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 2),
    );
    await expect(store.commit(put())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(store.revision).toBe(21);
  });

  it('under concurrent commits: listeners once per commit in revision order, mirror updated before listeners and before each commit resolves', async () => {
    const { store } = await open();
    const seen: { revision: number; mirrored: number }[] = [];
    store.onCommit((events: readonly StoredEvent[]) => {
      const revision = events[0]?.revision ?? -1;
      seen.push({ revision, mirrored: store.revision });
    });
    const resolved: { revision: number; mirrored: number; delivered: boolean }[] = [];
    const writer = async (): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        const r = await store.commit(put());
        resolved.push({
          revision: r.revision,
          mirrored: store.revision,
          delivered: seen.some((s) => s.revision === r.revision),
        });
        if (i % 5 === 0) await store.getLease('lse_none');
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    expect(seen.map((s) => s.revision)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(seen.every((s) => s.mirrored >= s.revision)).toBe(true);
    expect(resolved).toHaveLength(200);
    expect(resolved.every((r) => r.mirrored >= r.revision && r.delivered)).toBe(true);
    expect(store.revision).toBe(200);
    // The database agrees, from the worker's side and from a store of its own.
    const events = await store.eventsAfter(0, 1000);
    expect(events !== 'compacted' && events.length).toBe(200);
  });

  it('mirrors compaction and starts from what is on disk', async () => {
    const path = dbPath();
    const direct = SqliteStore.open({ path, retainRevisions: 10 });
    for (let i = 0; i < 30; i++) await direct.commit(put());
    const epoch = direct.epoch;
    const compacted = direct.compactedRevision;
    await direct.close();
    const { store } = await open(path, { retainRevisions: 10 });
    expect(store).toMatchObject({ kind: 'sqlite', epoch, revision: 30, compactedRevision: compacted });
    expect(store.chainHeadFile).toBe(`${path}.audit-head`);
    for (let i = 0; i < 10; i++) await store.commit(put());
    expect(store.compactedRevision).toBeGreaterThan(compacted);
  });
});

describe('SqliteWorkerStore close', () => {
  it('commits queued before close complete and are delivered; later calls are refused; close is idempotent', async () => {
    const { store, path } = await open();
    const delivered: number[] = [];
    store.onCommit((events) => delivered.push(events[0]?.revision ?? -1));
    const queued = Array.from({ length: 10 }, () => store.commit(put()));
    const closing = [store.close(), store.close()];
    expect((await Promise.all(queued)).map((r) => r.revision)).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    await Promise.all(closing);
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    await expect(store.commit(put())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: 'the store is shutting down; retry on another server',
      retryAfterMs: 1000,
    });
    await expect(store.listLeases({})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await store.close();
    const again = SqliteStore.open({ path });
    expect(again.revision).toBe(10);
    await again.close();
  });
});

describe('SqliteWorkerStore whose worker dies', () => {
  it('fails pending and later calls with UNAVAILABLE instead of hanging, and logs the death', async () => {
    const { log, lines } = capturedLog();
    const { store, path } = await open(dbPath(), { log });
    const failures: Error[] = [];
    store.onFailure((e) => failures.push(e));
    await store.commit(put());
    // Held in the worker by another connection's write lock, so they are surely in flight.
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    const inFlight = Array.from({ length: 5 }, () => store.commit(put()));
    await new Promise((r) => setTimeout(r, 50));
    const crashed = store[crashWorkerForTests]();
    setTimeout(() => {
      blocker.exec('ROLLBACK');
      blocker.close();
    }, 100);
    await crashed;
    const outcomes = await Promise.allSettled(inFlight);
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
    for (const o of outcomes)
      expect(o.status === 'rejected' && o.reason).toMatchObject({
        code: 'UNAVAILABLE',
        message: /the store stopped \(its worker thread died\)/,
      });
    await expect(store.commit(put())).rejects.toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 1000 });
    await expect(store.getLease('x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(lines.some((l) => l.level === 50 && /worker thread died/.test(l.msg))).toBe(true);
    expect(failures).toEqual([expect.objectContaining({ code: 'UNAVAILABLE' })]);
    await store.close(); // nothing left to close; resolves
  });

  it('a throw failpoint armed on the main thread fires in the worker: after the commit, the worker dies and the commit is durable', async () => {
    const { store, path } = await open();
    await store.commit(put());
    configureFailpoints('after-commit=throw');
    await expect(store.commit(put())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    configureFailpoints(undefined);
    await expect(store.commit(put())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const reopened = await open(path);
    expect(reopened.store.revision).toBe(2);
  });

  it('before-commit=throw fails that commit only; the worker lives on', async () => {
    const { store } = await open();
    configureFailpoints('before-commit=throw');
    await expect(store.commit(put())).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: 'the store could not commit; nothing was changed, retry later',
    });
    configureFailpoints(undefined);
    expect((await store.commit(put())).revision).toBe(1);
  });
});
