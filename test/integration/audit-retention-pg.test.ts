/**
 * Audit retention on PostgreSQL, where several servers share one database and one chain: two
 * servers pruning at once (while both keep committing) never break the chain, one prune wins
 * each round, and `pinhole audit prune --config` and `pinhole audit verify --config` work against
 * the shared database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { join } from 'node:path';
import { PgStore } from '../../server/store/postgres/pg-store.js';
import { verifyChain } from '../../server/audit/verify.js';
import { checkpointSigner, type CheckpointSigner } from '../../server/audit/checkpoint.js';
import type { PruneResult } from '../../server/audit/prune.js';
import { ReceiptSigner } from '../../server/identity/receipts.js';
import { auditFixture } from '../helpers/leases.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { pinholeAsync } from './admin-fixtures.js';

const DAY_MS = 86_400_000;

let cluster: TestPostgres;
let dataDir: string;
let signer: ReceiptSigner;

beforeAll(async () => {
  cluster = await startPostgres();
  dataDir = tempDir();
  // Every server of a deployment keeps the same receipt key (README, "Several servers").
  signer = await ReceiptSigner.loadOrCreate(dataDir);
});

afterAll(async () => {
  await cluster.close();
  removeDir(dataDir);
});

const old = (i: number): { audit: [ReturnType<typeof auditFixture>] } => ({
  audit: [{ ...auditFixture('admin', `old-${i}`), atMs: Date.now() - 30 * DAY_MS + i }],
});

async function verify(store: PgStore) {
  return verifyChain((after, limit) => store.auditRecords({ afterSeq: after, limit }), undefined, undefined, {
    checkpoints: await store.auditCheckpoints(),
    jwks: signer.jwks,
    keySource: 'test key',
  });
}

describe('audit retention on PostgreSQL', () => {
  it('two servers prune at once while both commit: one wins each batch, the chain holds', async () => {
    const url = await cluster.createDatabase('retention');
    const a = await PgStore.open({ url, pollMs: 200 });
    const b = await PgStore.open({ url, pollMs: 200 });
    try {
      await Promise.all(Array.from({ length: 120 }, (_, i) => (i % 2 === 0 ? a : b).commit(old(i))));
      const realSign = checkpointSigner(signer);
      // The first two signatures wait for each other: both servers have planned the same batch
      // from the same (no) checkpoint before either writes, so the first round is a true race.
      let arrived = 0;
      let release: () => void = () => undefined;
      const bothSigned = new Promise<void>((r) => (release = r));
      const sign: CheckpointSigner = async (claims) => {
        const jws = await realSign(claims);
        if (arrived < 2) {
          if (++arrived === 2) release();
          await bothSigned;
        }
        return jws;
      };
      const beforeMs = Date.now() - DAY_MS;
      // Each server prunes in batches of 10 until nothing is left, as the retention timer does,
      // while both keep committing fresh records.
      const drain = async (store: PgStore, name: string): Promise<PruneResult[]> => {
        const results: PruneResult[] = [];
        for (;;) {
          const [r] = await Promise.all([
            store.pruneAudit({ beforeMs, by: name, sign, maxRecords: 10 }),
            store.commit({ audit: [auditFixture('admin', `${name}-fresh`)] }),
          ]);
          results.push(r);
          if (r.outcome === 'nothing') return results;
        }
      };
      const [ra, rb] = await Promise.all([drain(a, 'server-a'), drain(b, 'server-b')]);
      // The raced first round: one server pruned, the other found the checkpoint moved and did nothing.
      expect([ra[0]?.outcome, rb[0]?.outcome].sort()).toEqual(['pruned', 'superseded']);
      const won = [...ra, ...rb].filter(
        (r): r is Extract<PruneResult, { outcome: 'pruned' }> => r.outcome === 'pruned',
      );
      // Every old record was pruned exactly once, in batches of at most 10.
      const pruned = won.map((r) => r.checkpoint.count);
      expect(pruned.reduce((x, y) => x + y, 0)).toBe(120);
      expect(pruned.every((n) => n <= 10)).toBe(true);
      const checkpoints = await a.auditCheckpoints();
      expect(checkpoints).toHaveLength(won.length);
      expect(checkpoints.at(-1)?.seq).toBe(120);
      // Both servers see one verified chain starting after the newest checkpoint.
      for (const store of [a, b]) {
        const verdict = await verify(store);
        expect(verdict).toMatchObject({ ok: true, checkpoint: { seq: 120, prunedTotal: 120 } });
      }
      const records = await b.auditRecords({ limit: 10_000 });
      expect(records[0]?.seq).toBe(121);
      expect(records.filter((r) => r.action === 'audit-prune')).toHaveLength(won.length);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('pinhole audit prune --config works against the shared database beside a running server', async () => {
    const url = await cluster.createDatabase('retention_cli');
    const server = await PgStore.open({ url, pollMs: 200 });
    try {
      for (let i = 0; i < 7; i++) await server.commit(old(i));
      await server.commit({ audit: [auditFixture('admin', 'recent')] });
      const config = join(dataDir, 'pg.yaml');
      writeFileSync(config, `dataDir: ${dataDir}\nstore:\n  kind: postgres\n  url: ${url}\n`);
      const r = await pinholeAsync('audit', 'prune', '--config', config, '--before', '7d');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('pruned records 1-7 (7,');
      expect(r.stdout).toMatch(/^done: 7 records older than \S+Z pruned$/m);
      // The server's next commit chains after the CLI's audit-prune record.
      await server.commit({ audit: [auditFixture('admin', 'after')] });
      const records = await server.auditRecords({});
      expect(records.map((x) => x.action)).toEqual(['admin', 'audit-prune', 'admin']);
      expect(records[1]?.actor).toMatch(/^cli\//);
      expect(await verify(server)).toMatchObject({
        ok: true,
        records: 3,
        checkpoint: { seq: 7, count: 7 },
      });

      // pinhole audit verify --config reads the same shared database, checkpoint included...
      const ok = await pinholeAsync('audit', 'verify', '--config', config);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(
        /^ok: 3 records, verified from the signed checkpoint at seq 7 \(7 records pruned/m,
      );
      expect(ok.stderr).toContain(
        'warning: a shared PostgreSQL database has no chain head file; removal of the newest records cannot be detected',
      );
      // ...and names an altered record.
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query("UPDATE audit SET outcome = 'DENIED' WHERE seq = (SELECT max(seq) FROM audit)");
      } finally {
        await client.end();
      }
      const bad = await pinholeAsync('audit', 'verify', '--config', config, '--quiet');
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/^FAILED at record \d+: /m);
    } finally {
      await server.close();
    }
  });
});
