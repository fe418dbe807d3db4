/**
 * Figure 9, flood fairness (issue #10): a well-behaved host's Open+Release latency while another
 * identity floods the server past its rate limit. The server (`pinhole serve`, the per-identity
 * limit at 50 calls/s with burst 50, as in test/hardening/limits.test.ts) runs on one core; the
 * flood is that test's own child (test/hardening/flood-child.ts: db-1, 64 concurrent Opens, most of
 * them refused with RESOURCE_EXHAUSTED) on the other core, niced, so what is measured is how the
 * server treats web-1 under the flood, not two processes fighting for one core. web-1 pairs
 * Open+Release paced at about 40 calls/s (inside its own limit). Baseline: the same pairs without
 * the flood, alternating with the flooded phases (one round of each in --quick, two otherwise).
 * Goal: p99 at most 3x the baseline's.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { OpeningClient } from '../../client-sdk/wire.js';
import { REPO } from '../../test/helpers/pinhole.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { open, webHttps } from '../../test/hardening/fixtures.js';
import { killChild, withScope, type Scope } from '../lib/cleanup.js';
import { scriptArgv } from '../lib/build.js';
import { release, webClient } from '../lib/calls.js';
import type { Figure, FigureContext } from '../lib/figure.js';
import { BENCH_LIMITS, spawnPinhole } from '../lib/processes.js';
import { row, type Row } from '../lib/report.js';
import { quantile, sleep } from '../lib/stats.js';

/** The flooded identity's limit: web-1's paced ~40 calls/s fits, db-1's flood is mostly refused. */
const LIMITS = { ...BENCH_LIMITS, requestsPerSecond: 50, burst: 50 } as const;
/** Pause between web-1's pairs: a pair takes a few ms, so about 40 calls/s. */
const PACE_MS = 40;

interface Phase {
  readonly ms: number[];
  /** Pairs that were not granted and released (a refusal would mean web-1 was starved). */
  failed: number;
}

async function pairs(web: OpeningClient, tag: string, count: number, into: Phase): Promise<void> {
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    try {
      const answer = await open(web, webHttps(`${tag}-${i}`));
      const leaseId = answer.lease?.id;
      if (leaseId === undefined) into.failed++;
      else {
        await release(web, leaseId);
        into.ms.push(performance.now() - t0);
      }
    } catch (e) {
      if ((e as ServiceError).code !== status.RESOURCE_EXHAUSTED) throw e;
      into.failed++;
    }
    await sleep(PACE_MS);
  }
}

/** Starts test/hardening/flood-child.ts as db-1; resolves once it floods. */
async function startFlood(
  scope: Scope,
  address: string,
  certDir: string,
  pinned: boolean,
): Promise<{ stop: () => Promise<Record<string, number>> }> {
  const child = scope.child(
    spawn(
      pinned ? 'taskset' : 'nice',
      [
        ...(pinned ? ['-c', '1', 'nice'] : []),
        '-n',
        '19',
        process.execPath,
        ...scriptArgv(join(REPO, 'test', 'hardening', 'flood-child.ts')),
        address,
        certDir,
        'db-1',
        '64',
        '10000000',
        '120000',
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  const deadline = Date.now() + 30_000;
  while (!out.includes('flood started')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('the flood child did not start');
    await sleep(20);
  }
  await sleep(500); // at full rate
  return {
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      await killChild(child);
      const line = out.split('\n').find((l) => l.startsWith('{')) ?? '{}';
      return JSON.parse(line) as Record<string, number>;
    },
  };
}

async function run(ctx: FigureContext): Promise<Row[]> {
  const samples = ctx.quick ? 40 : 100;
  const rounds = ctx.quick ? 1 : 2;
  const pinned = availableParallelism() >= 2;
  return withScope(async (scope) => {
    const dataDir = scope.dir(tempDir('pinhole-bench-flood-'));
    const server = await spawnPinhole(scope, {
      dataDir,
      certDir: ctx.certDir,
      config: { limits: LIMITS },
      ...(pinned ? { wrap: ['taskset', '-c', '0'] } : {}),
    });
    const web = webClient(server.address, ctx.certDir);
    scope.defer('web client', () => {
      web.close();
    });
    await pairs(web, 'warm', ctx.quick ? 10 : 20, { ms: [], failed: 0 }); // TLS, JIT, SQLite cache
    const quiet: Phase = { ms: [], failed: 0 };
    const flooded: Phase = { ms: [], failed: 0 };
    const floods: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      await pairs(web, `quiet-${r}`, samples, quiet);
      const flood = await startFlood(scope, server.address, ctx.certDir, pinned);
      try {
        await pairs(web, `flood-${r}`, samples, flooded);
      } finally {
        floods.push(await flood.stop());
      }
    }
    const sum = (k: string): number => floods.reduce((s, f) => s + (f[k] ?? 0), 0);
    const floodMs = sum('ms');
    const floodNote =
      `db-1 flood: ${sum('sent')} Opens in ${(floodMs / 1000).toFixed(1)} s ` +
      `(${((sum('sent') * 1000) / Math.max(1, floodMs)).toFixed(0)}/s), ${sum('ok')} granted, ` +
      `${sum('exhausted')} RESOURCE_EXHAUSTED, ${sum('other')} other`;
    const p = (xs: number[], q: number): string => quantile(xs, q).toFixed(1);
    ctx.log(
      `  web-1 Open+Release p50/p99: quiet ${p(quiet.ms, 0.5)}/${p(quiet.ms, 0.99)} ms, ` +
        `flooded ${p(flooded.ms, 0.5)}/${p(flooded.ms, 0.99)} ms (${quiet.failed}/${flooded.failed} not granted); ${floodNote}`,
    );
    const failed = `web-1 pairs not granted: ${quiet.failed} quiet, ${flooded.failed} flooded`;
    const where = pinned ? 'server on core 0, flood on core 1 (niced)' : 'one core: flood niced';
    return [
      row(9, {
        name: 'web-1 Open+Release p50 during a db-1 flood',
        value: quantile(flooded.ms, 0.5),
        unit: 'ms',
        baselineName: 'no flood p50',
        baseline: quantile(quiet.ms, 0.5),
        note: `${flooded.ms.length} and ${quiet.ms.length} pairs; ${failed}`,
      }),
      row(9, {
        name: 'web-1 Open+Release p99 during a db-1 flood',
        value: quantile(flooded.ms, 0.99),
        unit: 'ms',
        baselineName: 'no flood p99',
        baseline: quantile(quiet.ms, 0.99),
        goal: { kind: 'max', ratio: 3 },
        note: `${floodNote}; limit 50/s burst 50 per identity; ${where}; ${failed}`,
      }),
    ];
  });
}

export const floodFigure: Figure = {
  id: 9,
  title: 'a well-behaved host under a request flood from another identity',
  timeoutMs: { quick: 30_000, full: 90_000 },
  run,
};
