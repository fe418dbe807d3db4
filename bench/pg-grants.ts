/**
 * Durable grants/s on PostgreSQL with 1 and 3 servers, next to SQLite, and what the global
 * revision counter costs. A grant is the mutation LeaseEngine.open commits (lease put + answer +
 * audit record; bench/lib/leases.ts), committed through the store, no RPC or policy.
 *
 *   npx tsx bench/pg-grants.ts [--quick] [--json]   (npm run bench runs it as figure 8)
 *
 * Rows:
 * - SQLite (WAL, synchronous=FULL), in process, c=1 and c=64.
 * - PgStore, one server (in this process), c=1 and c=64 (group commit), and c=64 with maxBatch=1: every
 *   grant its own transaction, so all serialize on the meta-row lock (the counter's raw cost).
 * - PgStore, three server processes on one database, c=64 in total.
 * - Baseline: raw INSERTs of a row of the same size, one transaction each, from 1 and 64
 *   connections, no shared row: what PostgreSQL does when nothing serializes.
 * Each row also reports grants per write transaction (txid delta), i.e. the group-commit batch.
 * PostgreSQL runs with fsync on (a throwaway cluster from test/helpers/postgres.ts).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { PgStore } from '../server/store/postgres/pg-store.js';
import type { TestPostgres } from '../test/helpers/postgres.js';
import { benchLease, grantBytes, grantMutation } from './lib/leases.js';
import { scriptArgv } from './lib/build.js';
import { closedLoop } from './lib/stats.js';

interface Result {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly errors: number;
  /** Grants committed in all, warm-up included (for grants per transaction). */
  readonly total?: number;
}

// --quick measures only what figure 8 reports (SQLite c=64, PostgreSQL 1 server c=1/c=64 and 3
// servers c=64), for 0.7 s each: the maxBatch=1 and raw INSERT rows run in the full run only.
const quick = process.argv.includes('--quick');
const durationMs = quick ? 700 : 3000;
const warmupMs = quick ? 150 : 500;

function summarize(r: { perSecond: number; latenciesMs: number[]; errors: number }): Result {
  const sorted = [...r.latenciesMs].sort((a, b) => a - b);
  return { perSecond: r.perSecond, p50Ms: sorted[Math.floor(sorted.length / 2)] ?? NaN, errors: r.errors };
}

/** Grants through one PgStore in this process. */
async function pgStoreLoop(
  url: string,
  concurrency: number,
  offset: number,
  maxBatch?: number,
): Promise<Result> {
  const store = await PgStore.open({ url, poolSize: 4, ...(maxBatch === undefined ? {} : { maxBatch }) });
  try {
    let n = offset;
    let total = 0;
    const r = await closedLoop(
      async () => {
        await store.commit(grantMutation(benchLease(++n), store.epoch));
        total++;
      },
      { concurrency, durationMs, warmupMs },
    );
    return { ...summarize(r), total };
  } finally {
    await store.close();
  }
}

/** `--child URL CONCURRENCY OFFSET [MAXBATCH]`: one "server" in its own process; prints its Result. */
async function child(args: string[]): Promise<void> {
  const [url = '', concurrency = '1', offset = '0', maxBatch] = args;
  const r = await pgStoreLoop(
    url,
    Number(concurrency),
    Number(offset),
    maxBatch === undefined ? undefined : Number(maxBatch),
  );
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

/**
 * Runs `servers` child processes at once on `url`, each with its share of `concurrency`. One server
 * runs in this process (which does nothing else meanwhile): starting a child costs seconds.
 */
async function servers(url: string, count: number, concurrency: number, maxBatch?: number): Promise<Result> {
  if (count === 1) return pgStoreLoop(url, concurrency, 10_000_000, maxBatch);
  const runs = Array.from({ length: count }, (_, i) => {
    const share = Math.ceil(concurrency / count);
    const args = [
      ...scriptArgv(import.meta.filename),
      '--child',
      url,
      String(share),
      String((i + 1) * 10_000_000),
    ];
    if (maxBatch !== undefined) args.push(String(maxBatch));
    return new Promise<Result>((resolve, reject) => {
      const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('exit', (code) => {
        if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Result);
        else reject(new Error(`bench server ${i} exited with ${code}`));
      });
    });
  });
  const results = await Promise.all(runs);
  return {
    perSecond: results.reduce((s, r) => s + r.perSecond, 0),
    p50Ms: Math.max(...results.map((r) => r.p50Ms)),
    errors: results.reduce((s, r) => s + r.errors, 0),
    total: results.reduce((s, r) => s + (r.total ?? 0), 0),
  };
}

/** Raw single-row INSERT transactions of `bytes`, from `concurrency` connections: no shared row. */
async function rawInserts(url: string, concurrency: number, bytes: number): Promise<Result> {
  const pool = new pg.Pool({ connectionString: url, max: concurrency });
  try {
    await pool.query(
      'CREATE TABLE IF NOT EXISTS raw (id bigserial PRIMARY KEY, at_ms bigint NOT NULL, json text NOT NULL)',
    );
    const payload = 'r'.repeat(bytes);
    const r = await closedLoop(
      async () => {
        await pool.query('INSERT INTO raw (at_ms, json) VALUES ($1, $2)', [Date.now(), payload]);
      },
      { concurrency, durationMs, warmupMs },
    );
    return summarize(r);
  } finally {
    await pool.end();
  }
}

async function sqlite(concurrency: number): Promise<Result> {
  const { SqliteStore } = await import('../server/store/sqlite/sqlite-store.js');
  const { removeDir, tempDir } = await import('../test/helpers/tmp.js');
  const dir = tempDir('pinhole-bench-pg-');
  const store = SqliteStore.open({ path: join(dir, 'pinhole.db') });
  try {
    let n = 0;
    return summarize(
      await closedLoop(
        async () => {
          await store.commit(grantMutation(benchLease(++n), store.epoch));
        },
        { concurrency, durationMs, warmupMs },
      ),
    );
  } finally {
    await store.close();
    removeDir(dir);
  }
}

/** Write transactions (txids) a run consumed on `url`'s cluster. */
async function withTxids(url: string, run: () => Promise<Result>): Promise<{ r: Result; txids: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const txid = async (): Promise<number> =>
    Number((await client.query<{ t: string }>('SELECT txid_current() AS t')).rows[0]?.t);
  try {
    const before = await txid();
    const r = await run();
    return { r, txids: (await txid()) - before - 1 };
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const rows: string[][] = [
    ['store', 'servers', 'concurrency', 'grants/s', 'p50 ms', 'grants per txn', 'errors'],
  ];
  const json: { store: string; servers: number; concurrency: number; perSecond: number }[] = [];
  const add = (store: string, count: number, c: number, r: Result, perTxn = '—'): void => {
    json.push({ store, servers: count, concurrency: c, perSecond: r.perSecond });
    rows.push([
      store,
      String(count),
      String(c),
      r.perSecond.toFixed(0),
      r.p50Ms.toFixed(2),
      perTxn,
      String(r.errors),
    ]);
    process.stderr.write(`${rows.at(-1)?.join('  ') ?? ''}\n`);
  };
  for (const c of quick ? [64] : [1, 64]) add('SQLite (in process)', 1, c, await sqlite(c));

  // Imported here, not at the top: a --child server process needs only PgStore, and the test
  // helpers load grpc-js and the whole client SDK (seconds per child on a busy machine).
  const { startPostgres } = await import('../test/helpers/postgres.js');
  const cluster: TestPostgres = await startPostgres({ durable: true });
  try {
    const bytes = grantBytes(benchLease(0), 'e');
    const fresh = (): Promise<string> => cluster.createDatabase('bench');
    const measured = async (label: string, count: number, c: number, maxBatch?: number): Promise<void> => {
      const url = await fresh();
      // Migrate first, so the servers do not race the schema inside the timed window.
      await (await PgStore.open({ url })).close();
      const { r, txids } = await withTxids(url, () => servers(url, count, c, maxBatch));
      add(label, count, c, r, txids > 0 ? ((r.total ?? 0) / txids).toFixed(1) : '—');
    };
    await measured('PostgreSQL', 1, 1);
    await measured('PostgreSQL', 1, 64);
    if (!quick) await measured('PostgreSQL, maxBatch=1', 1, 64, 1);
    await measured('PostgreSQL', 3, 64);
    if (!quick) {
      await measured('PostgreSQL, maxBatch=1', 3, 64, 1);
      const rawUrl = await fresh();
      for (const c of [1, 64])
        add(`raw INSERT ${bytes} B, no shared row`, 0, c, await rawInserts(rawUrl, c, bytes), '1.0');
    }
  } finally {
    await cluster.close();
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]): string => `| ${r.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const header = rows[0] ?? [];
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(json)}\n`);
    return;
  }
  process.stdout.write(
    `${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n')}\n`,
  );
}

if (process.argv[2] === '--child') await child(process.argv.slice(3));
else await main();
