/**
 * Figure 2, durable grants/s: SqliteStore.commit of a grant (lease put + answer + audit record, as
 * LeaseEngine.open commits it) at concurrency 1 and 64, in process. Baseline: raw better-sqlite3
 * inserts of one row of the same total size into a database with the same pragmas (WAL,
 * synchronous=FULL), one transaction per insert, back to back.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { withScope } from '../lib/cleanup.js';
import type { Figure, FigureContext } from '../lib/figure.js';
import { benchLease, grantBytes, grantMutation } from '../lib/leases.js';
import { row, type Row } from '../lib/report.js';
import { closedLoop } from '../lib/stats.js';

/** Raw inserts per second: one row of `bytes` per transaction, for `durationMs`. */
function rawInserts(path: string, bytes: number, durationMs: number, warmupMs: number): number {
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE raw (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, json TEXT NOT NULL) STRICT');
    const insert = db.prepare('INSERT INTO raw (id, at_ms, json) VALUES (?, ?, ?)');
    const one = db.transaction((i: number) =>
      insert.run(`row-${i}`, Date.now(), `${i}:${'r'.repeat(bytes)}`),
    );
    let i = 0;
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) one(i++);
    const started = performance.now();
    let done = 0;
    while (performance.now() - started < durationMs) {
      one(i++);
      done++;
    }
    return (done * 1000) / (performance.now() - started);
  } finally {
    db.close();
  }
}

async function run(ctx: FigureContext): Promise<Row[]> {
  const durationMs = ctx.quick ? 1000 : 2500;
  const warmupMs = ctx.quick ? 200 : 500;
  return withScope(async (scope) => {
    const dir = scope.dir(tempDir('pinhole-bench-store-'));
    const store = SqliteStore.open({ path: join(dir, 'pinhole.db') });
    scope.defer('store', () => store.close());
    const bytes = grantBytes(benchLease(0), store.epoch);
    const raw = rawInserts(join(dir, 'raw.db'), bytes, durationMs, warmupMs);
    ctx.log(`  raw: ${raw.toFixed(0)} inserts/s of ${bytes} bytes`);
    const rows: Row[] = [];
    let n = 0;
    for (const concurrency of [1, 64]) {
      const r = await closedLoop(
        async () => {
          await store.commit(grantMutation(benchLease(++n), store.epoch));
        },
        { concurrency, durationMs, warmupMs },
      );
      ctx.log(`  c=${concurrency}: ${r.perSecond.toFixed(0)} grants/s`);
      rows.push(
        row(2, {
          name: `durable grants/s (SQLite commit) c=${concurrency}`,
          value: r.perSecond,
          unit: '/s',
          baselineName: 'raw insert+fsync/s',
          baseline: raw,
          goal: concurrency === 1 ? { kind: 'min', ratio: 0.5 } : { kind: 'min', ratio: 5 },
          note: `${bytes} bytes of JSON per grant; errors ${r.errors}`,
        }),
      );
    }
    return rows;
  });
}

export const storeFigure: Figure = {
  id: 2,
  title: 'durable grants/s in SQLite vs raw inserts',
  timeoutMs: { quick: 20_000, full: 40_000 },
  run,
};
