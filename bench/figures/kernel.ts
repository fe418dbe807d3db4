/**
 * Figure 5, grant-to-kernel: from the Open answer arriving at the host to the lease's element being
 * in the gateway agent's nftables set, in a network namespace. The server is a `pinhole serve` child
 * process; the agent (FirewallAgent, firewall gw-1, gateway mode, default batch window, tamper watch
 * and reconcile) runs in this process with a TimedEnforcer: an NftEnforcer whose apply() is timed to
 * the exit of its `nft -f`, the moment the kernel has committed the batch. A listing at the end
 * checks that every measured element is really there.
 *
 * Baseline: one `nft -f -` adding the same kind of element by hand in the same namespace (to a table
 * of its own, which the agent does not watch, its set holding 1,000 elements like the agent's),
 * interleaved with the samples. The 1,000 other leases are in the store before the server starts
 * (so in the agent's snapshot); then the same measurement while they renew continuously (each every
 * 4 s: 250/s).
 */
import { readClientTls, type OpeningClient } from '../../client-sdk/wire.js';
import { FirewallAgent } from '../../client-sdk/agent/agent.js';
import { tempDir } from '../../test/helpers/tmp.js';
import { withScope } from '../lib/cleanup.js';
import { benchSource, open, openRequest, renew, webClient } from '../lib/calls.js';
import type { Figure, FigureContext } from '../lib/figure.js';
import { benchLease } from '../lib/leases.js';
import { createNamespace, must, nftIn } from '../lib/netns.js';
import { seedLeases } from '../lib/seed.js';
import { spawnPinhole } from '../lib/processes.js';
import { row, type Row } from '../lib/report.js';
import { median, quantile, sleep, timed } from '../lib/stats.js';
import { TimedEnforcer } from '../lib/timed-enforcer.js';

const OTHERS = 1000;
const RENEW_EVERY_MS = 4000;
/** benchLease numbers of the others: sources 198.19.11.184 up, apart from the sampled ones. */
const OTHERS_FROM = 3000;

/** A table of our own beside the agent's (which it never looks at), with the same set definition. */
const BASELINE_TABLE = `table inet phbench {
  set open4 {
    type ipv4_addr . inet_proto . inet_service . ipv4_addr
    flags interval,timeout
    counter
  }
}
`;

/** One element added by hand: one `nft -f -` run, as the agent's apply would do for one lease. */
const handElement = (n: number): string =>
  `add element inet phbench open4 { 198.19.${250 + (n >> 8)}.${n & 255} . tcp . 443 . 198.18.0.2 timeout 65s expires 65s comment "hand-${n}" }\n`;

/**
 * Sequential Opens at random intervals; ms from answer to element, per grant. Each is followed by
 * one hand-written `nft -f` in the same namespace, so the baseline sees the same conditions.
 */
async function sample(
  web: OpeningClient,
  enforcer: TimedEnforcer,
  o: { count: number; offset: number; tag: string; nft: readonly string[] },
): Promise<{ ms: number[]; ids: string[]; hand: number[] }> {
  const ms: number[] = [];
  const ids: string[] = [];
  const hand: number[] = [];
  for (let i = 0; i < o.count; i++) {
    // Random gaps, so samples do not lock step with the agent's 250 ms tamper probe.
    await sleep(20 + Math.random() * 60);
    const answer = await open(web, openRequest(`${o.tag}-${i}`, benchSource(o.offset + i)));
    const answeredAt = performance.now();
    const id = answer.lease?.id ?? '';
    const appliedAt = await enforcer.whenApplied(id, 10_000);
    ms.push(appliedAt - answeredAt);
    ids.push(id);
    await sleep(10 + Math.random() * 30);
    hand.push(await timed(() => must([...o.nft, '-f', '-'], handElement(o.offset + i))));
  }
  return { ms, ids, hand };
}

/** Renews `leaseIds` round robin at `perSecond` until stopped; at most 64 in flight. */
function renewLoop(web: OpeningClient, leaseIds: readonly string[], perSecond: number) {
  let next = 0;
  let inFlight = 0;
  const stats = { done: 0, errors: 0, skipped: 0 };
  const tickMs = 20;
  const perTick = (perSecond * tickMs) / 1000;
  let credit = 0;
  const timer = setInterval(() => {
    credit += perTick;
    for (; credit >= 1; credit--) {
      if (inFlight >= 64) {
        stats.skipped++;
        continue;
      }
      const id = leaseIds[next++ % leaseIds.length] ?? '';
      inFlight++;
      renew(web, id).then(
        () => {
          inFlight--;
          stats.done++;
        },
        () => {
          inFlight--;
          stats.errors++;
        },
      );
    }
  }, tickMs);
  const started = performance.now();
  return {
    stats,
    stop: async (): Promise<number> => {
      clearInterval(timer);
      const elapsed = performance.now() - started;
      while (inFlight > 0) await sleep(10);
      return (stats.done * 1000) / elapsed;
    },
  };
}

async function run(ctx: FigureContext): Promise<Row[]> {
  // 100 in a full run: with nearest-rank quantiles, p99 of 50 samples would be their maximum.
  const count = ctx.quick ? 12 : 100;
  return withScope(async (scope) => {
    const ns = await createNamespace(scope, 'gw');
    const nft = nftIn(ns);
    // The baseline's set holds as many elements as the agent's (the 1,000 others): a commit to a
    // concatenated-range set costs more the bigger the set.
    await must(
      [...nft, '-f', '-'],
      BASELINE_TABLE +
        `add element inet phbench open4 { ${Array.from(
          { length: OTHERS },
          (_, n) => `198.19.${240 + (n >> 8)}.${n & 255} . tcp . 443 . 198.18.0.2 timeout 1h`,
        ).join(', ')} }\n`,
    );
    const dataDir = scope.dir(tempDir('pinhole-bench-kernel-'));
    // The 1,000 other leases (web-1's tcp/443 grants, as Open makes them) are in the store before
    // the server starts: opening them one by one took seconds, and the agent gets them in its snapshot.
    await seedLeases(dataDir, OTHERS, (n, nowMs) =>
      benchLease(OTHERS_FROM + n, { host: 'web-1', ttlSeconds: 600, nowMs }),
    );
    const server = await spawnPinhole(scope, { dataDir, certDir: ctx.certDir });
    const enforcer = new TimedEnforcer({
      mode: 'gateway',
      nftCommand: nft,
      conntrackCommand: ['ip', 'netns', 'exec', ns, 'conntrack'],
    });
    const agent = new FirewallAgent({
      server: server.address,
      tls: readClientTls(ctx.certDir, 'firewall-gw-1'),
      enforcer,
      mode: 'gateway',
      backend: 'nftables',
    });
    scope.defer('agent', () => agent.close());
    await agent.start();
    for (let waited = 0; enforcer.reconciles === 0; waited += 20) {
      if (waited > 10_000) throw new Error('the agent did not sync its snapshot within 10 s');
      await sleep(20);
    }
    const web = webClient(server.address, ctx.certDir);
    scope.defer('web client', () => {
      web.close();
    });

    const idle = await sample(web, enforcer, { count, offset: 0, tag: 'k-idle', nft });
    ctx.log(
      `  idle: p50 ${median(idle.ms).toFixed(1)} ms p99 ${quantile(idle.ms, 0.99).toFixed(1)} ms; hand nft -f p50 ${median(idle.hand).toFixed(1)} ms`,
    );

    // Renewals of the 1,000 other leases while sampling again.
    const others = Array.from({ length: OTHERS }, (_, n) => benchLease(OTHERS_FROM + n).id);
    const appliesBefore = enforcer.applies.length;
    const renewals = renewLoop(web, others, (OTHERS * 1000) / RENEW_EVERY_MS);
    await sleep(ctx.quick ? 300 : 1000);
    const loaded = await sample(web, enforcer, { count, offset: 1000, tag: 'k-load', nft });
    const renewRate = await renewals.stop();
    const during = enforcer.applies.slice(appliesBefore);
    const batchInfo =
      `${during.length} applies, median ${median(during.map((a) => a.upserts)).toFixed(0)} leases ` +
      `and ${median(during.map((a) => a.ms)).toFixed(1)} ms each`;
    ctx.log(
      `  loaded: p50 ${median(loaded.ms).toFixed(1)} ms p99 ${quantile(loaded.ms, 0.99).toFixed(1)} ms; ` +
        `${renewRate.toFixed(0)} renewals/s (${renewals.stats.errors} errors, ${renewals.stats.skipped} skipped); ${batchInfo}`,
    );

    const listing = await must([...nft, '-j', 'list', 'set', 'inet', 'pinhole', 'open4']);
    const present = [...idle.ids, ...loaded.ids].filter((id) => listing.includes(`"${id}"`)).length;
    const verified = `${present}/${idle.ids.length + loaded.ids.length} measured elements found by nft -j list set`;
    const rows: Row[] = [];
    for (const [phase, ms, hand, note] of [
      ['idle', idle.ms, idle.hand, verified],
      [
        `+${OTHERS} leases renewing`,
        loaded.ms,
        loaded.hand,
        `${renewRate.toFixed(0)} renewals/s achieved (target ${(OTHERS * 1000) / RENEW_EVERY_MS}); ${batchInfo}`,
      ],
    ] as const) {
      // Issue #9, idle and loaded alike: p50 within 2x of the hand-written baseline, p99 under 50 ms.
      for (const [q, quant, goal] of [
        ['p50', 0.5, { kind: 'max', ratio: 2 }],
        ['p99', 0.99, { kind: 'below', value: 50 }],
      ] as const) {
        rows.push(
          row(5, {
            name: `grant-to-kernel ${q}, ${phase}`,
            value: quantile(ms, quant),
            unit: 'ms',
            baselineName: `nft -f by hand ${q}`,
            baseline: quantile(hand, quant),
            goal,
            note,
          }),
        );
      }
    }
    return rows;
  });
}

export const kernelFigure: Figure = {
  id: 5,
  title: 'grant-to-kernel latency in a network namespace',
  timeoutMs: { quick: 45_000, full: 120_000 },
  run,
};
