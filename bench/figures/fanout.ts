/**
 * Figure 4, watch fan-out: one grant delivered to 1, 10 and 100 real gRPC Watch streams (firewall
 * `gw-1`, scope all; every stream on its own connection, all in one subscriber process). Latency is
 * commit → client receipt: the server (in this process) stamps the store's commit notification, the
 * subscriber process stamps arrival, both on the wall clock with sub-ms resolution. Grants are
 * committed through the store, one lease per commit, every 10 ms.
 *
 * Then a stall: 10 subscribers plus one more in its own process, measured twice under the same load
 * (a burst of 1,000 leases, then paced grants with 10-lease batches every 100 ms): once with
 * the extra subscriber reading, once with it SIGSTOPped. The goal: the others' p99 at most 2x.
 */
import { startTestServer } from '../../test/helpers/pinhole.js';
import { killChild, withScope, type Scope } from '../lib/cleanup.js';
import type { Figure, FigureContext } from '../lib/figure.js';
import { benchLease, grantMutation } from '../lib/leases.js';
import { BENCH_LIMITS, spawnChild, type LineChild } from '../lib/processes.js';
import { row, type Row } from '../lib/report.js';
import { quantile, sleep, wallMs } from '../lib/stats.js';
import type { Mutation } from '../../server/store/store.js';

interface Server {
  readonly address: string;
  readonly revision: () => number;
  readonly commit: (m: Mutation) => Promise<unknown>;
  readonly commitTime: (leaseId: string) => number | undefined;
  readonly queued: () => number;
  readonly epoch: string;
}

let seq = 0;

function batch(size: number): Mutation {
  const leases = Array.from({ length: size }, () => benchLease(++seq));
  return { leases: leases.map((lease) => ({ kind: 'put' as const, lease })), audit: [] };
}

/** A subscriber process with no streams yet (started once, reused: starting one costs seconds). */
function subscriberProcess(scope: Scope, s: Server, certDir: string): LineChild {
  return spawnChild(scope, 'watch-subscribers.ts', [
    s.address,
    certDir,
    'firewall-gw-1',
    '0',
    String(s.revision()),
  ]);
}

/** `count` fresh streams in a subscriber process (a new one unless `reuse` is given). */
async function subscribers(
  scope: Scope,
  s: Server,
  certDir: string,
  count: number,
  reuse?: LineChild,
): Promise<LineChild> {
  const child = reuse ?? subscriberProcess(scope, s, certDir);
  child.send(`reset ${count} ${s.revision()}`);
  await child.next('ready', 60_000);
  return child;
}

/** Paced single-lease grants (and optional background batches); returns the paced lease ids. */
async function load(
  s: Server,
  o: { grants: number; intervalMs: number; background?: { everyMs: number; size: number } },
): Promise<Set<string>> {
  const ids = new Set<string>();
  const inFlight: Promise<unknown>[] = [];
  const bg =
    o.background === undefined
      ? undefined
      : setInterval(() => inFlight.push(s.commit(batch(o.background?.size ?? 0))), o.background.everyMs);
  try {
    const started = performance.now();
    for (let i = 0; i < o.grants; i++) {
      const lease = benchLease(++seq);
      ids.add(lease.id);
      inFlight.push(s.commit(grantMutation(lease, s.epoch)));
      // Absolute schedule, so a slow commit does not stretch the run.
      await sleep(Math.max(0, started + (i + 1) * o.intervalMs - performance.now()));
    }
  } finally {
    clearInterval(bg);
  }
  await Promise.all(inFlight);
  return ids;
}

/** Delivery latencies (ms) of `ids` to the child's subscribers, collected until all arrived or 15 s passed. */
async function latencies(
  s: Server,
  child: LineChild,
  ids: ReadonlySet<string>,
  subs: number,
): Promise<{ ms: number[]; missing: number }> {
  const ms: number[] = [];
  const deadline = performance.now() + 15_000;
  while (ms.length < ids.size * subs && performance.now() < deadline) {
    await sleep(100);
    child.send('dump');
    const records = JSON.parse(await child.next('dump ', 30_000)) as [string, number, number][];
    for (const [id, , at] of records) {
      const committed = ids.has(id) ? s.commitTime(id) : undefined;
      if (committed !== undefined) ms.push(at - committed);
    }
  }
  return { ms, missing: ids.size * subs - ms.length };
}

/** Waits until the hub's queues stop shrinking (a stalled subscriber's never empties), at most 15 s. */
async function settle(s: Server): Promise<number> {
  let last = -1;
  const deadline = performance.now() + 15_000;
  while (performance.now() < deadline) {
    const queued = s.queued();
    if (queued === last) return queued;
    last = queued;
    await sleep(250);
  }
  return last;
}

async function run(ctx: FigureContext): Promise<Row[]> {
  const grants = ctx.quick ? 40 : 150;
  return withScope(async (scope) => {
    const ts = await startTestServer({ limits: BENCH_LIMITS }, { certDir: ctx.certDir });
    scope.dir(ts.dataDir);
    scope.defer('server', () => ts.close());
    const store = ts.server.store;
    const committedAt = new Map<string, number>();
    // Registered after the hub's listener: the hub has queued the events, nothing is written yet.
    store.onCommit((events) => {
      const t = wallMs();
      for (const e of events) if (e.type === 'UPSERT') committedAt.set(e.lease.id, t);
    });
    const s: Server = {
      address: ts.address,
      revision: () => store.revision,
      commit: (m) => store.commit(m),
      commitTime: (id) => committedAt.get(id),
      queued: () => ts.server.hub.queuedEvents,
      epoch: store.epoch,
    };
    const rows: Row[] = [];
    const base: { p50?: number; p99?: number } = {};
    // Both subscriber processes start at once; the stall's extra subscriber idles until then.
    let child: LineChild | undefined = subscriberProcess(scope, s, ctx.certDir);
    const extra = subscriberProcess(scope, s, ctx.certDir);
    for (const count of [1, 10, 100]) {
      child = await subscribers(scope, s, ctx.certDir, count, child);
      await sleep(200);
      const ids = await load(s, { grants, intervalMs: 10 });
      const { ms, missing } = await latencies(s, child, ids, count);
      const p50 = quantile(ms, 0.5);
      const p99 = quantile(ms, 0.99);
      ctx.log(
        `  ${count} subscribers: p50 ${p50.toFixed(2)} ms p99 ${p99.toFixed(2)} ms (${ms.length} deliveries, ${missing} missing)`,
      );
      if (count === 1) Object.assign(base, { p50, p99 });
      for (const [q, v, b] of [
        ['p50', p50, base.p50],
        ['p99', p99, base.p99],
      ] as const) {
        rows.push(
          row(4, {
            name: `watch delivery ${q}, ${count} subscriber${count === 1 ? '' : 's'}`,
            value: v,
            unit: 'ms',
            ...(count === 1 || b === undefined ? {} : { baselineName: `1 subscriber ${q}`, baseline: b }),
            note: `${ms.length} deliveries of ${ids.size} grants, ${missing} missing`,
          }),
        );
      }
    }
    rows.push(...(await stall(ctx, scope, s, grants, child, extra)));
    return rows;
  });
}

async function stall(
  ctx: FigureContext,
  scope: Scope,
  s: Server,
  grants: number,
  reuse: LineChild | undefined,
  extra: LineChild,
): Promise<Row[]> {
  const others = 10;
  // Alternating rounds, so load from outside the bench hits both conditions alike.
  const rounds = ctx.quick ? 1 : 2;
  const samples: Record<'reading' | 'stalled', number[]> = { reading: [], stalled: [] };
  let notes = '';
  let group = reuse;
  let victim = extra;
  for (let round = 0; round < rounds; round++) {
    for (const stalled of [false, true]) {
      group = await subscribers(scope, s, ctx.certDir, others, group);
      victim = await subscribers(scope, s, ctx.certDir, 1, victim);
      if (stalled) victim.child.kill('SIGSTOP');
      for (let i = 0; i < 10; i++) await s.commit(batch(100));
      const backlog = await settle(s);
      const ids = await load(s, { grants, intervalMs: 10, background: { everyMs: 100, size: 10 } });
      const queued = s.queued();
      const { ms, missing } = await latencies(s, group, ids, others);
      samples[stalled ? 'stalled' : 'reading'].push(...ms);
      if (stalled) {
        victim.child.kill('SIGCONT');
        const cut = await victim.next('error', 2000).catch(() => 'not cut');
        notes = `stalled subscriber: ${backlog} events queued after the burst, ${queued} after the load; its stream: ${cut}`;
      }
      ctx.log(
        `  ${others} subscribers, extra one ${stalled ? 'stalled' : 'reading'}: p50 ${quantile(ms, 0.5).toFixed(2)} ms ` +
          `p99 ${quantile(ms, 0.99).toFixed(2)} ms, ${missing} missing, ${backlog} queued after the burst, ${queued} after the load`,
      );
    }
  }
  await killChild(victim.child);
  if (group !== undefined) await killChild(group.child);
  return [
    row(4, {
      name: `watch p99 of ${others} others, 1 subscriber stalled`,
      value: quantile(samples.stalled, 0.99),
      unit: 'ms',
      baselineName: 'same load, none stalled',
      baseline: quantile(samples.reading, 0.99),
      goal: { kind: 'max', ratio: 2 },
      note: notes,
    }),
  ];
}

export const fanoutFigure: Figure = {
  id: 4,
  title: 'watch fan-out latency, and a stalled subscriber',
  timeoutMs: { quick: 60_000, full: 120_000 },
  run,
};
