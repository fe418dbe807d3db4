/**
 * Retention on the server's timer meets a request log that does not verify: the prune is refused
 * (it would destroy the evidence), and that is logged as an error telling the operator to run
 * `pinhole audit verify`, not as a routine retry.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { AuditRetention } from '../../server/audit/retention.js';
import { checkpointSigner } from '../../server/audit/checkpoint.js';
import { ReceiptSigner } from '../../server/identity/receipts.js';
import { createRootLogger } from '../../server/log.js';
import { auditFixture } from '../helpers/leases.js';
import { removeDir, tempDir } from '../helpers/pinhole.js';

const DAY_MS = 86_400_000;
const dataDir = tempDir();
afterAll(() => {
  removeDir(dataDir);
});

interface LogLine {
  readonly level: number;
  readonly msg: string;
}

describe('audit retention over a tampered log', () => {
  it('logs the refusal at error, naming pinhole audit verify', async () => {
    const store = SqliteStore.open({ path: join(dataDir, 'pinhole.db') });
    try {
      for (let i = 0; i < 5; i++)
        await store.commit({ audit: [{ ...auditFixture('admin'), atMs: Date.now() - 40 * DAY_MS + i }] });
      const db = new Database(join(dataDir, 'pinhole.db'));
      db.prepare("UPDATE audit SET outcome = 'DENIED' WHERE seq = 2").run();
      db.close();

      const lines: LogLine[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString('utf8')) as LogLine);
          done();
        },
      });
      const retention = new AuditRetention({
        prune: (request) => store.pruneAudit(request),
        sign: checkpointSigner(await ReceiptSigner.loadOrCreate(dataDir)),
        retentionDays: 30,
        // The test runs it by hand; the timer never comes round.
        intervalMs: 3_600_000,
        log: createRootLogger('info', sink),
      });
      await retention.runOnce();
      await retention.close();

      expect(lines.map((l) => l.level)).toEqual([50]);
      expect(lines[0]?.msg).toMatch(
        /^request-log retention refused to prune: the request log does not verify \(audit prune refused: record 2 was altered; .*\)\. Nothing was pruned; the log needs `pinhole audit verify`/,
      );
    } finally {
      await store.close();
    }
  });
});
