/**
 * `audit.retentionDays`: the running server prunes the request log on its own timer, leaving
 * signed checkpoints, and the log still verifies — in the server and with the offline CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { Caller } from '../../server/lease/caller.js';
import { waitUntil } from '../helpers/postgres.js';
import { auditFixture } from '../helpers/leases.js';
import { removeDir, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';
import { pinhole } from './admin-fixtures.js';

const DAY_MS = 86_400_000;
const OLD = 25;
const RECENT = 5;

let dataDir: string;
let ts: TestServer;

const admin = (): Caller => ({
  identity: {
    role: 'admin',
    name: 'retention-test',
    trustDomain: ts.server.trustDomain,
    addresses: [],
    fingerprint: '',
    notAfterMs: 0,
  },
  peer: 'test',
});

beforeAll(async () => {
  dataDir = tempDir();
  mkdirSync(dataDir, { recursive: true });
  // A log with records from 40 days ago and from today, written through the real store.
  const seed = SqliteStore.open({ path: join(dataDir, 'pinhole.db') });
  for (let i = 0; i < OLD; i++)
    await seed.commit({ audit: [{ ...auditFixture('admin'), atMs: Date.now() - 40 * DAY_MS + i }] });
  for (let i = 0; i < RECENT; i++) await seed.commit({ audit: [auditFixture('admin')] });
  await seed.close();
  ts = await startTestServer({ audit: { retentionDays: 30, pruneIntervalMs: 100 } }, { dataDir });
});

afterAll(async () => {
  await ts.close();
  removeDir(dataDir);
});

describe('audit.retentionDays', () => {
  it('the server prunes records older than the retention on its timer and the log still verifies', async () => {
    const store = ts.server.store;
    await waitUntil(
      'the retention timer to leave a checkpoint',
      async () => (await store.auditCheckpoints()).length > 0,
      30_000,
    );
    const [checkpoint] = await store.auditCheckpoints();
    expect(checkpoint).toMatchObject({ seq: OLD, count: OLD });
    const records = await store.auditRecords({ limit: 10_000 });
    // The old records are gone; today's remain, followed by the record of the prune.
    expect(records[0]?.seq).toBe(OLD + 1);
    expect(records.every((r) => r.atMs > Date.now() - 30 * DAY_MS)).toBe(true);
    const prune = records.find((r) => r.action === 'audit-prune');
    expect(prune).toMatchObject({
      actor: 'server',
      outcome: 'OK',
      detail: { checkpoint: { seq: OLD, count: OLD } },
    });

    const verdict = await ts.server.admin.verifyAudit(admin());
    expect(verdict).toMatchObject({
      ok: true,
      checkpoint: { seq: OLD, count: OLD, prunedTotal: OLD, by: 'server' },
    });
    expect(await store.auditCheckpoints()).toHaveLength(1);
  });

  it('after the server closes, the offline verify starts from the checkpoint the server signed', async () => {
    await ts.close();
    const r = pinhole('audit', 'verify', '--data-dir', dataDir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^ok: \\d+ records, verified from the signed checkpoint at seq ${OLD} \\(${OLD} records pruned at \\S+Z by server; ${OLD} pruned in all\\)`,
      ),
    );
  });
});
