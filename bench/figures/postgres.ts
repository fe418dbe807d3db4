/**
 * Figure 8: durable grants/s on PostgreSQL with 1 and 3 servers, next to SQLite. Runs
 * bench/pg-grants.ts in its own process (it starts and removes a throwaway PostgreSQL cluster on
 * loopback) and turns its JSON into rows.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../../test/helpers/pinhole.js';
import type { Figure } from '../lib/figure.js';
import { scriptArgv } from '../lib/build.js';
import { row, type Row } from '../lib/report.js';

interface Measured {
  readonly store: string;
  readonly servers: number;
  readonly concurrency: number;
  readonly perSecond: number;
}

function runPgGrants(quick: boolean): Promise<Measured[]> {
  return new Promise((resolve, reject) => {
    const args = [
      ...scriptArgv(join(REPO, 'bench', 'pg-grants.ts')),
      '--json',
      ...(quick ? ['--quick'] : []),
    ];
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) reject(new Error(`bench/pg-grants.ts exited with ${String(code)}`));
      else resolve(JSON.parse(line) as Measured[]);
    });
  });
}

export const postgresFigure: Figure = {
  id: 8,
  title: 'durable grants/s on PostgreSQL, 1 and 3 servers, next to SQLite',
  timeoutMs: { quick: 120_000, full: 180_000 },
  async run(ctx): Promise<Row[]> {
    const measured = await runPgGrants(ctx.quick);
    const find = (store: string, servers: number, c: number): Measured | undefined =>
      measured.find((m) => m.store === store && m.servers === servers && m.concurrency === c);
    const sqlite = find('SQLite (in process)', 1, 64);
    const rows: Row[] = [];
    for (const [servers, c] of [
      [1, 1],
      [1, 64],
      [3, 64],
    ] as const) {
      const m = find('PostgreSQL', servers, c);
      if (m === undefined) continue;
      rows.push(
        row(8, {
          name: `durable grants/s, PostgreSQL, ${servers} server${servers > 1 ? 's' : ''}, c=${c}`,
          value: m.perSecond,
          unit: '/s',
          ...(sqlite === undefined
            ? {}
            : { baselineName: 'SQLite c=64, same machine', baseline: sqlite.perSecond }),
          note: 'commits from all servers serialize on the revision counter row',
        }),
      );
    }
    return rows;
  },
};
