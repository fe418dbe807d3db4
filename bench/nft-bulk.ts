/**
 * One `nft -f` batch of 10,000 elements: through NftEnforcer (renderer + index + nft) versus a
 * hand-written file in the DESIGN.md §6 format. Runs in a throw-away network namespace (needs root):
 *   npx tsx bench/nft-bulk.ts [count]
 */
import { NftEnforcer } from '../client-sdk/enforcer/nft-enforcer.js';
import { ElementIndex } from '../client-sdk/enforcer/element-index.js';
import { toTarget } from '../client-sdk/enforcer/lease-target.js';
import { renderBatch, renderTable, type TableConfig } from '../client-sdk/enforcer/nft-ruleset.js';
import { runProcess } from '../client-sdk/enforcer/run-process.js';
import type { EnforcerLease } from '../client-sdk/enforcer/types.js';

const count = Number(process.argv[2] ?? 10_000);
const ns = `ph-${process.pid}-bench`;
const nft = ['ip', 'netns', 'exec', ns, 'nft'];
const rounds = 5; // plus one warm-up round that is not counted

async function must(argv: string[], stdin?: string): Promise<string> {
  const r = await runProcess(argv, stdin === undefined ? {} : { stdin });
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function median(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `${(s[Math.floor(s.length / 2)] ?? NaN).toFixed(0)} ms`;
}

const source = (i: number): string => `198.19.${i >> 8}.${i & 255}`;
const leases = (expiresAtMs: number): EnforcerLease[] =>
  Array.from({ length: count }, (_, i) => ({
    leaseId: `lse_${i.toString().padStart(8, '0')}`,
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

const handWritten = (): string =>
  'add element inet pinhole open4 { ' +
  Array.from(
    { length: count },
    (_, i) => `${source(i)} . tcp . 5432 . 198.18.0.2 timeout 600s comment "lse_${i}"`,
  ).join(', ') +
  ' }\n';

async function main(): Promise<void> {
  await must(['ip', 'netns', 'add', ns]);
  try {
    const cfg: TableConfig = { mode: 'host', adminCidrs: { v4: [], v6: [] }, layers: { 4: 1, 6: 1 } };
    const emptyTable = renderTable(cfg, []);
    const results: Record<string, number[]> = {};
    let warm = false;
    const record = (name: string, ms: number): void => {
      if (warm) (results[name] ??= []).push(ms);
    };
    for (let r = 0; r <= rounds; r++) {
      warm = r > 0;
      // Destroying a big set is finished by the kernel in the background: let it settle between steps.
      const reset = async (): Promise<void> => {
        await must([...nft, '-f', '-'], emptyTable);
        await sleep(300);
      };
      await reset();
      const text = handWritten();
      record('hand-written file: nft -f', await timed(() => must([...nft, '-f', '-'], text)));
      await reset();
      let rendered = '';
      record(
        'renderer: validate + place + render (JS only)',
        await timed(async () => {
          const index = new ElementIndex();
          const staged = index.stage(
            toTarget(
              leases(Date.now() + 600_000).map((l) => [l.leaseId, l] as const),
              'u',
            ),
            [],
            () => false,
          );
          const adds = staged.touched.map((p) => ({
            set: 'open4',
            keyText: p.key.text,
            timeoutS: 600,
            comment: p.leaseId,
          }));
          rendered = renderBatch(cfg, { layers: [], deletes: [], adds });
          return Promise.resolve();
        }),
      );
      record('renderer output: nft -f', await timed(() => must([...nft, '-f', '-'], rendered)));
      await reset();

      const enforcer = new NftEnforcer({ mode: 'host', nftCommand: nft, cutConnectionsOnDelete: false });
      await enforcer.init();
      const batch = leases(Date.now() + 600_000);
      record(
        'NftEnforcer.apply end to end (first add)',
        await timed(() => enforcer.apply({ upserts: batch, deletes: [] })),
      );
      const renewal = leases(Date.now() + 900_000);
      record(
        'NftEnforcer.apply renewal of all (re-add)',
        await timed(() => enforcer.apply({ upserts: renewal, deletes: [] })),
      );
      record(
        'nft -t -j list ruleset (tamper probe)',
        await timed(() => must([...nft, '-t', '-j', 'list', 'ruleset'])),
      );
      record('NftEnforcer.counters (full JSON listing)', await timed(() => enforcer.counters()));
      record(
        'NftEnforcer.reconcile, nothing to fix',
        await timed(() => enforcer.reconcile(new Map(renewal.map((l) => [l.leaseId, l])))),
      );
      const ids = batch.map((l) => l.leaseId);
      // Deleting 10k costs seconds in the kernel (pipapo), so only a tenth is deleted per round.
      record(
        'NftEnforcer.apply delete of 1,000 (add+delete pairs)',
        await timed(() => enforcer.apply({ upserts: [], deletes: ids.slice(0, 1000) })),
      );
      await enforcer.close();
    }
    console.log(`${count} elements, median of ${rounds} rounds after a warm-up`);
    for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(58)} ${median(xs)}`);
  } finally {
    await runProcess(['ip', 'netns', 'del', ns]);
  }
}

await main();
