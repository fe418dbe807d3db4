/**
 * Figure 2, durable grants/s: SqliteStore.commit of a grant (lease put + answer + audit record, as
 * LeaseEngine.open commits it) at concurrency 1 and 64, in process. Baseline: raw better-sqlite3
 * inserts of one row of the same total size into a database with the same pragmas (WAL,
 * synchronous=FULL), one transaction per insert, back to back. Baseline, c=1 and c=64 alternate.
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

/** The baseline database: one table, same pragmas, one row of `bytes` per transaction. */
class RawInserts {
  readonly #db: Database.Database;
  readonly #one: (i: number) => void;
  #i = 0;

  constructor(path: string, bytes: number) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(
      'CREATE TABLE raw (id TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, json TEXT NOT NULL) STRICT',
    );
    const insert = this.#db.prepare('INSERT INTO raw (id, at_ms, json) VALUES (?, ?, ?)');
    const padding = 'r'.repeat(bytes);
    const tx = this.#db.transaction((i: number) => insert.run(`row-${i}`, Date.now(), `${i}:${padding}`));
    this.#one = (i) => {
      tx(i);
    };
  }

  /** Inserts back to back for `durationMs`; returns inserts per second. */
  run(durationMs: number): number {
    const started = performance.now();
    let done = 0;
    while (performance.now() - started < durationMs) {
      this.#one(this.#i++);
      done++;
    }
    return (done * 1000) / (performance.now() - started);
  }

  close(): void {
    this.#db.close();
  }
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function run(ctx: FigureContext): Promise<Row[]> {
  // Baseline and store alternate in slices, so load from outside the bench hits both alike.
  const slices = ctx.quick ? 1 : 3;
  const sliceMs = ctx.quick ? 600 : 800;
  return withScope(async (scope) => {
    const dir = scope.dir(tempDir('pinhole-bench-store-'));
    const store = SqliteStore.open({ path: join(dir, 'pinhole.db') });
    scope.defer('store', () => store.close());
    const bytes = grantBytes(benchLease(0), store.epoch);
    const raw = new RawInserts(join(dir, 'raw.db'), bytes);
    scope.defer('raw db', () => {
      raw.close();
    });
    let n = 0;
    const commit = async (): Promise<void> => {
      await store.commit(grantMutation(benchLease(++n), store.epoch));
    };
    raw.run(200);
    const rates: { raw: number[]; 1: number[]; 64: number[] } = { raw: [], 1: [], 64: [] };
    let errors = 0;
    for (let slice = 0; slice < slices; slice++) {
      rates.raw.push(raw.run(sliceMs));
      for (const concurrency of [1, 64] as const) {
        const r = await closedLoop(commit, { concurrency, durationMs: sliceMs, warmupMs: 150 });
        rates[concurrency].push(r.perSecond);
        errors += r.errors;
      }
    }
    const baseline = mean(rates.raw);
    ctx.log(
      `  raw ${baseline.toFixed(0)} inserts/s of ${bytes} bytes; c=1 ${mean(rates[1]).toFixed(0)} grants/s; ` +
        `c=64 ${mean(rates[64]).toFixed(0)} grants/s`,
    );
    return ([1, 64] as const).map((concurrency) =>
      row(2, {
        name: `durable grants/s (SQLite commit) c=${concurrency}`,
        value: mean(rates[concurrency]),
        unit: '/s',
        baselineName: 'raw insert+fsync/s',
        baseline,
        goal: concurrency === 1 ? { kind: 'min', ratio: 0.5 } : { kind: 'min', ratio: 5 },
        note: `${bytes} bytes of JSON per grant; ${slices} alternating slices of ${sliceMs} ms; errors ${errors}`,
      }),
    );
  });
}

export const storeFigure: Figure = {
  id: 2,
  title: 'durable grants/s in SQLite vs raw inserts',
  timeoutMs: { quick: 20_000, full: 40_000 },
  run,
};
