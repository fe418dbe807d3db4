/**
 * One `nft -f` batch of N elements: through NftEnforcer (renderer + index + nft) versus a
 * hand-written file in the DESIGN.md §6 format, plus reconcile, listing and delete costs. Used by
 * figure 6 of `npm run bench`; also runs on its own in a throw-away network namespace (needs root):
 *   npx tsx bench/nft-bulk.ts [count] [rounds]
 */
import { fileURLToPath } from 'node:url';
import { NftEnforcer } from '../client-sdk/enforcer/nft-enforcer.js';
import { ElementIndex } from '../client-sdk/enforcer/element-index.js';
import { leasesToTarget } from '../client-sdk/enforcer/lease-target.js';
import { renderBatch, renderTable, type TableConfig } from '../client-sdk/enforcer/nft-ruleset.js';
import type { EnforcerLease } from '../client-sdk/enforcer/types.js';
import { withScope } from './lib/cleanup.js';
import { createNamespace, must, nftIn } from './lib/netns.js';
import { median, sleep, timed } from './lib/stats.js';

/** Step names, as reported and as figure 6 looks them up. */
export const STEP = {
  hand: 'hand-written file: nft -f',
  render: 'renderer: validate + place + render (JS only)',
  rendered: 'renderer output: nft -f',
  listing: 'nft -n -s -j list table (nft alone, what a reconcile reads)',
  apply: 'NftEnforcer.apply end to end (first add)',
  renewal: 'NftEnforcer.apply renewal of all (re-add)',
  probe: 'nft -t -j list ruleset (tamper probe)',
  counters: 'NftEnforcer.counters (full JSON listing)',
  reconcile: 'NftEnforcer.reconcile, nothing to fix',
  restore: 'NftEnforcer.reconcile after the table was deleted (reloads all)',
  delete: 'NftEnforcer.apply delete of 1,000 (add+delete pairs)',
} as const;

export type Timings = Map<string, number[]>;

const source = (i: number): string => `198.19.${i >> 8}.${i & 255}`;

const leaseId = (i: number): string => `lse_${i.toString().padStart(8, '0')}`;

function leases(count: number, expiresAtMs: number): EnforcerLease[] {
  return Array.from({ length: count }, (_, i) => ({
    leaseId: leaseId(i),
    expiresAtMs,
    rules: [
      {
        protocol: 'tcp',
        portFrom: 5432,
        portTo: 5432,
        sourceCidr: `${source(i)}/32`,
        destination: '198.18.0.2',
      },
    ],
  }));
}

/**
 * The hand-written equivalent of `leases(count)`: the same elements with the same comments (the lease
 * ids, which the enforcer must write: they are how it tells its elements from anyone else's) and the
 * lease's timeout, in one `add element` command, written as a person would.
 */
const handWritten = (count: number): string =>
  'add element inet pinhole open4 { ' +
  Array.from(
    { length: count },
    (_, i) => `${source(i)} . tcp . 5432 . 198.18.0.2 timeout 600s comment "${leaseId(i)}"`,
  ).join(', ') +
  ' }\n';

/** Runs `rounds` measured rounds (after `warmup` uncounted ones) in the namespace that `nft` runs in. */
export async function measureNftBulk(o: {
  nft: readonly string[];
  count: number;
  rounds: number;
  warmup: number;
  log?: (message: string) => void;
}): Promise<Timings> {
  const nft = o.nft;
  const cfg: TableConfig = { mode: 'host', adminCidrs: { v4: [], v6: [] }, layers: { 4: 1, 6: 1 } };
  const emptyTable = renderTable(cfg, []);
  const results: Timings = new Map();
  let counted = false;
  const record = (name: string, ms: number): void => {
    if (!counted) return;
    const list = results.get(name);
    if (list === undefined) results.set(name, [ms]);
    else list.push(ms);
  };
  // Destroying a big set is finished by the kernel in the background: let it settle between steps.
  const reset = async (): Promise<void> => {
    await must([...nft, '-f', '-'], emptyTable);
    await sleep(300);
  };
  for (let r = 0; r < o.warmup + o.rounds; r++) {
    counted = r >= o.warmup;
    await reset();
    const text = handWritten(o.count);
    record(STEP.hand, await timed(() => must([...nft, '-f', '-'], text)));
    await reset();
    let rendered = '';
    // The leases are the caller's: only the enforcer's own work is timed.
    const input = leases(o.count, Date.now() + 600_000);
    record(
      STEP.render,
      await timed(() => {
        const index = new ElementIndex();
        const target = leasesToTarget(input, 'u');
        const staged = index.stage(target, [], () => false);
        const adds = [...staged.kept, ...staged.placed].map((p) => ({
          set: p.set,
          keyText: p.key.text,
          timeoutS: 600,
          comment: p.leaseId,
          fresh: true,
        }));
        rendered = renderBatch(cfg, { layers: [], deletes: [], adds });
        return Promise.resolve();
      }),
    );
    record(STEP.rendered, await timed(() => must([...nft, '-f', '-'], rendered)));
    await reset();

    const enforcer = new NftEnforcer({ mode: 'host', nftCommand: nft, cutConnectionsOnDelete: false });
    try {
      await enforcer.init();
      const batch = leases(o.count, Date.now() + 600_000);
      record(STEP.apply, await timed(() => enforcer.apply({ upserts: batch, deletes: [] })));
      const renewal = leases(o.count, Date.now() + 900_000);
      record(STEP.renewal, await timed(() => enforcer.apply({ upserts: renewal, deletes: [] })));
      record(STEP.probe, await timed(() => must([...nft, '-t', '-j', 'list', 'ruleset'])));
      record(STEP.counters, await timed(() => enforcer.counters()));
      record(
        STEP.listing,
        await timed(() => must([...nft, '-n', '-s', '-j', 'list', 'table', 'inet', 'pinhole'])),
      );
      const desired = new Map(renewal.map((l) => [l.leaseId, l]));
      record(STEP.reconcile, await timed(() => enforcer.reconcile(desired)));
      // Not `nft flush set`: the kernel deletes a big concatenated-range set's elements one by one
      // (50k took over 30 s here); a deleted table is freed in the background.
      await must([...nft, 'delete', 'table', 'inet', 'pinhole']);
      await sleep(300);
      record(STEP.restore, await timed(() => enforcer.reconcile(desired)));
      // Deleting 10k costs seconds in the kernel (pipapo), so only 1,000 are deleted per round.
      const ids = batch.map((l) => l.leaseId);
      record(STEP.delete, await timed(() => enforcer.apply({ upserts: [], deletes: ids.slice(0, 1000) })));
    } finally {
      await enforcer.close();
    }
    o.log?.(
      `  ${o.count} elements: round ${r + 1}/${o.warmup + o.rounds}${counted ? '' : ' (warm-up)'} done`,
    );
  }
  return results;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 10_000);
  const rounds = Number(process.argv[3] ?? 5);
  await withScope(async (scope) => {
    const ns = await createNamespace(scope, 'bulk');
    const results = await measureNftBulk({ nft: nftIn(ns), count, rounds, warmup: 1 });
    console.log(`${count} elements, median of ${rounds} rounds after a warm-up`);
    for (const [name, xs] of results) console.log(`  ${name.padEnd(64)} ${median(xs).toFixed(0)} ms`);
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
