/**
 * Figure 7, memory: VmRSS of a `pinhole serve` child process (from /proc/PID/status) holding
 * 100,000 live leases (committed straight through SqliteStore in 5,000-lease batches before the
 * server starts on that database) with 100 watchers attached (gw-1, each on its own connection,
 * resuming from the current revision as restarted agents do) and 100 live grants fanned out to
 * them. Baseline: the same server started on an empty store, idle. Also reported: the server with
 * the leases before any client connects (what loading the store costs at start).
 *
 * Then a full snapshot (from revision 0) of every live lease to one more watcher: with the default
 * queue limit, and (full run only) with the limit raised so it completes: time and peak RSS.
 */
import { tempDir } from '../../test/helpers/tmp.js';
import { killChild, withScope, type Scope } from '../lib/cleanup.js';
import { benchSource, open, openRequest, webClient } from '../lib/calls.js';
import type { Figure, FigureContext } from '../lib/figure.js';
import { benchLease } from '../lib/leases.js';
import { seedLeases } from '../lib/seed.js';
import { memoryOf, spawnChild, spawnPinhole, type PinholeProcess } from '../lib/processes.js';
import { row, type Row } from '../lib/report.js';
import { sleep } from '../lib/stats.js';

const WATCHERS = 100;
const DEFAULT_QUEUE_LIMIT = 10_000;

/** One watcher from revision 0: the snapshot's outcome, how long it took, and the server's peak RSS. */
async function snapshot(
  scope: Scope,
  server: PinholeProcess,
  certDir: string,
): Promise<{ completed: boolean; events: number; ms: number; peakMiB: number; detail: string }> {
  const started = performance.now();
  const child = spawnChild(scope, 'watch-subscribers.ts', [
    server.address,
    certDir,
    'firewall-gw-1',
    '1',
    '0',
  ]);
  const line = await child.nextAny(['snapshot', 'error'], 120_000);
  const outcome = { ok: line.prefix === 'snapshot', s: line.rest };
  const ms = performance.now() - started;
  const peakMiB = memoryOf(server.pid).peakMiB;
  await killChild(child.child);
  const parts = outcome.s.split(' ');
  // `snapshot EVENTS MS` counts the closing PROGRESS; `error SUB CODE EVENTS DETAILS`.
  const events = outcome.ok ? Number(parts[0]) - 1 : Number(parts[2]);
  return { completed: outcome.ok, events, ms, peakMiB, detail: outcome.ok ? '' : parts.slice(3).join(' ') };
}

async function run(ctx: FigureContext): Promise<Row[]> {
  const leases = ctx.quick ? 20_000 : 100_000;
  const k = `${leases / 1000}k`;
  return withScope(async (scope) => {
    const settleMs = ctx.quick ? 500 : 2000;
    const idleDir = scope.dir(tempDir('pinhole-bench-idle-'));
    const dataDir = scope.dir(tempDir('pinhole-bench-mem-'));
    // The idle server starts while the leases are committed (RSS does not depend on CPU contention).
    const idleStarting = spawnPinhole(scope, { dataDir: idleDir, certDir: ctx.certDir });
    let t = performance.now();
    const revision = await seedLeases(dataDir, leases, (n, nowMs) =>
      benchLease(n, { host: `mem-${n % 1000}`, ttlSeconds: 3600, nowMs }),
    );
    ctx.log(`  committed ${leases} leases in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const idleServer = await idleStarting;
    await sleep(settleMs);
    const idle = memoryOf(idleServer.pid);
    await killChild(idleServer.child);
    ctx.log(`  idle server: ${idle.rssMiB.toFixed(0)} MiB`);
    t = performance.now();
    const server = await spawnPinhole(scope, { dataDir, certDir: ctx.certDir });
    const startS = (performance.now() - t) / 1000;
    await sleep(settleMs);
    const started = memoryOf(server.pid);
    ctx.log(
      `  with ${k} leases, no clients: ${started.rssMiB.toFixed(0)} MiB (peak ${started.peakMiB.toFixed(0)}), up in ${startS.toFixed(1)} s`,
    );
    const watchers = spawnChild(scope, 'watch-subscribers.ts', [
      server.address,
      ctx.certDir,
      'firewall-gw-1',
      String(WATCHERS),
      String(revision),
    ]);
    await watchers.next('ready', 60_000);
    const web = webClient(server.address, ctx.certDir);
    scope.defer('web client', () => {
      web.close();
    });
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) => open(web, openRequest(`mem-${i + j}`, benchSource(i + j)))),
      );
    }
    await sleep(settleMs);
    const loaded = memoryOf(server.pid);
    ctx.log(
      `  ${k} leases + ${WATCHERS} watchers: ${loaded.rssMiB.toFixed(0)} MiB (peak ${loaded.peakMiB.toFixed(0)})`,
    );
    const rows: Row[] = [
      row(7, {
        name: `server RSS, ${k} live leases, no clients`,
        value: started.rssMiB,
        unit: 'MiB',
        baselineName: 'idle server',
        baseline: idle.rssMiB,
        note: `peak ${started.peakMiB.toFixed(0)} MiB while starting (${startS.toFixed(1)} s to listen; empty store ${idle.peakMiB.toFixed(0)} MiB)`,
      }),
      row(7, {
        name: `server RSS, ${k} live leases + ${WATCHERS} watchers`,
        value: loaded.rssMiB,
        unit: 'MiB',
        baselineName: 'idle server',
        baseline: idle.rssMiB,
        goal: { kind: 'max', ratio: 2 },
        note: `peak ${loaded.peakMiB.toFixed(0)} MiB; leases stay in SQLite, watchers resumed from revision ${revision}`,
      }),
    ];

    t = performance.now();
    const cut = await snapshot(scope, server, ctx.certDir);
    ctx.log(
      `  snapshot with queueLimit ${DEFAULT_QUEUE_LIMIT}: ${cut.completed ? 'completed' : `cut: ${cut.detail}`} (${cut.events} events, ${cut.ms.toFixed(0)} ms)`,
    );
    rows.push(
      row(7, {
        name: `snapshot of ${k} leases delivered (default queueLimit)`,
        value: cut.events,
        unit: 'leases',
        baselineName: 'live leases',
        baseline: leases,
        goal: { kind: 'min', ratio: 1 },
        note: cut.completed ? `${cut.ms.toFixed(0)} ms` : `stream ended: ${cut.detail}`,
      }),
    );
    await killChild(watchers.child);
    await killChild(server.child);
    if (ctx.quick) return rows;

    const raised = await spawnPinhole(scope, {
      dataDir,
      certDir: ctx.certDir,
      config: { watch: { queueLimit: 1_000_000 } },
    });
    const before = memoryOf(raised.pid);
    const full = await snapshot(scope, raised, ctx.certDir);
    ctx.log(
      `  snapshot with queueLimit 1,000,000: ${full.completed ? 'completed' : `cut: ${full.detail}`} in ${full.ms.toFixed(0)} ms, peak ${full.peakMiB.toFixed(0)} MiB`,
    );
    rows.push(
      row(7, {
        name: `snapshot of ${k} leases, queueLimit raised: time`,
        value: full.ms / 1000,
        unit: 's',
        note: `${full.events} leases; ${((full.ms * 1000) / Math.max(1, full.events)).toFixed(0)} µs per lease`,
      }),
      row(7, {
        name: `server peak RSS during that snapshot`,
        value: full.peakMiB,
        unit: 'MiB',
        baselineName: 'idle server',
        baseline: idle.rssMiB,
        note: `RSS before the snapshot ${before.rssMiB.toFixed(0)} MiB`,
      }),
    );
    return rows;
  });
}

export const memoryFigure: Figure = {
  id: 7,
  title: 'server memory with 100k live leases and 100 watchers',
  timeoutMs: { quick: 40_000, full: 120_000 },
  run,
};
