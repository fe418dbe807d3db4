/**
 * Streamed nft transactions against a real kernel, in a throw-away namespace: a script written in
 * chunks while it is rendered is still one transaction (all or nothing), whatever fails mid-stream;
 * and a bulk batch rendered in many chunks yields exactly the expected elements.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NftEnforcer } from '../../client-sdk/enforcer/nft-enforcer.js';
import { NftExec, parseNftJson } from '../../client-sdk/enforcer/nft-exec.js';
import {
  CHUNK_CHARS,
  renderAddChunks,
  renderTable,
  renderTableChunks,
  type TableConfig,
} from '../../client-sdk/enforcer/nft-ruleset.js';
import type { EnforcerLease, EnforcerRule } from '../../client-sdk/enforcer/types.js';
import { NetnsLab } from '../helpers/netns.js';

const lab = new NetnsLab();
let ns = '';
let nft: string[] = [];

const cfg: TableConfig = { mode: 'host', adminCidrs: { v4: [], v6: [] }, layers: { 4: 1, 6: 1 } };
const emptyTable = renderTable(cfg, []);

/** `set|key|comment` of every element in the table, sorted. */
async function listed(): Promise<string[]> {
  const r = await lab.must(ns, ['nft', '-n', '-s', '-j', 'list', 'table', 'inet', 'pinhole']);
  return parseNftJson(r.stdout)
    .sets.flatMap((s) => s.elements.map((e) => `${s.name}|${e.keyText ?? '?'}|${e.comment ?? ''}`))
    .sort();
}

const adds = (count: number, comment = (i: number) => `lse_${i}`) =>
  Array.from({ length: count }, (_, i) => ({
    set: 'open4',
    keyText: `198.19.${i >> 8}.${i & 255} . tcp . 5432 . 198.18.0.2`,
    timeoutS: 600,
    comment: comment(i),
    fresh: true,
  }));

beforeAll(async () => {
  ns = await lab.namespace('stream');
  nft = ['ip', 'netns', 'exec', ns, 'nft'];
});

afterAll(async () => {
  await lab.cleanup();
});

describe('a streamed nft transaction', () => {
  beforeAll(async () => {
    await lab.must(ns, ['nft', '-f', '-'], emptyTable);
  });

  it('written in many chunks, commits as one', async () => {
    const chunks = [...renderAddChunks(adds(3000))];
    expect(chunks.length).toBeGreaterThan(2);
    const tx = new NftExec(nft).begin();
    for (const c of chunks) await tx.write(c);
    await tx.commit();
    expect(await listed()).toHaveLength(3000);
    await lab.must(ns, ['nft', '-f', '-'], emptyTable);
  });

  it('a script cut at any chunk boundary is refused whole: what nft read when a writer died commits nothing', async () => {
    const chunks = [...renderTableChunks(cfg, adds(3000))];
    expect(chunks.length).toBeGreaterThan(2);
    let prefix = '';
    for (const c of chunks.slice(0, -1)) {
      prefix += c;
      const r = await lab.exec(ns, ['nft', '-c', '-f', '-'], prefix);
      expect(r.code, `cut at ${prefix.length}`).not.toBe(0);
    }
    const whole = await lab.exec(ns, ['nft', '-c', '-f', '-'], chunks.join(''));
    expect(whole.code).toBe(0);
  });

  it('a renderer that throws mid-stream applies nothing, and the error is the renderer’s', async () => {
    function* failing(): Generator<string> {
      let n = 0;
      for (const c of renderAddChunks(adds(3000))) {
        // Fails after whole commands' worth of text went to nft.
        if (++n > 2) throw new Error('renderer bug');
        yield c;
      }
    }
    await expect(new NftExec(nft).apply(failing())).rejects.toThrow('renderer bug');
    expect(await listed()).toEqual([]);
  });

  it('an aborted transaction applies nothing, even a complete script behind a wrapper that outlives the kill', async () => {
    // sh forks nft and waits for it (no exec of the last command): SIGKILL takes sh, nft reads on.
    const wrapped = new NftExec(['sh', '-c', 'ip netns exec "$0" nft "$@"; exit $?', ns]);
    const tx = wrapped.begin();
    await tx.write([...renderAddChunks(adds(200))].join(''));
    // Let sh start nft, so the kill cannot be what stops it.
    await new Promise((r) => setTimeout(r, 300));
    await tx.abort();
    expect(await listed()).toEqual([]);
  });

  it('the kernel refusing the last element of a long stream leaves the set as it was', async () => {
    await lab.must(ns, [
      'nft',
      'add',
      'element',
      'inet',
      'pinhole',
      'open4',
      '{ 198.19.99.0/24 . tcp . 5432 . 198.18.0.2 }',
    ]);
    const clash = {
      set: 'open4',
      keyText: '198.19.99.7 . tcp . 5432 . 198.18.0.2',
      timeoutS: 600,
      comment: 'clash',
    };
    const text = [...renderAddChunks([...adds(3000), clash])];
    await expect(new NftExec(nft).apply(text)).rejects.toMatchObject({
      code: 'APPLY_FAILED',
      message: expect.stringContaining('File exists') as unknown,
    });
    expect(await listed()).toEqual(['open4|198.19.99.0/24 . tcp . 5432 . 198.18.0.2|']);
    await lab.must(ns, ['nft', '-f', '-'], emptyTable);
  });
});

describe('NftEnforcer, a bulk batch in many chunks', () => {
  const rule = (sourceCidr: string, over: Partial<EnforcerRule> = {}): EnforcerRule => ({
    protocol: 'tcp',
    portFrom: 5432,
    portTo: 5432,
    sourceCidr,
    destination: sourceCidr.includes(':') ? '2001:2::2' : '198.18.0.2',
    ...over,
  });
  /**
   * 12,000 leases: v4 /32s, v6 /64s with two rules, and one /24 per 256 leases overlapping the /32s in
   * it placed before (so it goes to a second layer).
   */
  const leases = (expiresAtMs: number): EnforcerLease[] =>
    Array.from({ length: 12_000 }, (_, i): EnforcerLease => {
      const leaseId = `lse_${i}`;
      const hex = i.toString(16);
      if (i % 4 === 1)
        return {
          leaseId,
          expiresAtMs,
          rules: [
            rule(`2001:2:${hex}::/64`),
            rule(`2001:2:${hex}::/64`, { protocol: 'udp', portFrom: 53, portTo: 54 }),
          ],
        };
      if (i % 256 === 2) return { leaseId, expiresAtMs, rules: [rule(`198.19.${i >> 8}.0/24`)] };
      return { leaseId, expiresAtMs, rules: [rule(`198.19.${i >> 8}.${i & 255}/32`)] };
    });

  /** What the kernel must hold for `leases`, computed independently of the enforcer. */
  function expected(list: readonly EnforcerLease[]): string[] {
    const out: string[] = [];
    for (const l of list) {
      for (const r of l.rules) {
        const v6 = r.sourceCidr.includes(':');
        const src = r.sourceCidr.endsWith('/32') ? r.sourceCidr.slice(0, -3) : r.sourceCidr;
        const ports = r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`;
        // A /24 overlaps the /32s inside it, which were placed first: it goes to the second layer.
        const set = v6 ? 'open6' : src.endsWith('.0/24') ? 'open4_1' : 'open4';
        out.push(`${set}|${src} . ${r.protocol} . ${ports} . ${r.destination}|${l.leaseId}`);
      }
    }
    return out.sort();
  }

  it('is accepted by nft and yields exactly the expected elements; a reconcile then finds nothing to fix', async () => {
    const enforcer = new NftEnforcer({ mode: 'host', nftCommand: nft, cutConnectionsOnDelete: false });
    try {
      await enforcer.init();
      const batch = leases(Date.now() + 600_000);
      await enforcer.apply({ upserts: batch, deletes: [] });
      const want = expected(batch);
      expect(want.join('\n').length).toBeGreaterThan(4 * CHUNK_CHARS);
      expect(await listed()).toEqual(want);
      const report = await enforcer.reconcile(new Map(batch.map((l) => [l.leaseId, l])));
      expect(report).toEqual({ tampered: false, missing: 0, extra: 0, events: [] });
    } finally {
      await enforcer.close();
    }
  });
});

describe('NftEnforcer, reloading a deleted table', () => {
  const lease = (leaseId: string, sourceCidr: string): EnforcerLease => ({
    leaseId,
    expiresAtMs: Date.now() + 600_000,
    rules: [{ protocol: 'tcp', portFrom: 5432, portTo: 5432, sourceCidr, destination: '198.18.0.2' }],
  });
  const deleteTable = () => lab.must(ns, ['nft', 'delete', 'table', 'inet', 'pinhole']);

  it('restores the table, and the next reconcile finds it as loaded (layers added before and by the reload)', async () => {
    const enforcer = new NftEnforcer({ mode: 'host', nftCommand: nft, cutConnectionsOnDelete: false });
    try {
      await enforcer.init();
      const desired = new Map<string, EnforcerLease>();
      const hold = async (l: EnforcerLease) => {
        desired.set(l.leaseId, l);
        await enforcer.apply({ upserts: [l], deletes: [] });
      };
      await hold(lease('a', '198.19.0.0/24'));
      // A second v4 layer added to the loaded table: its rule goes after the v6 lookup, where a load
      // would not put it.
      await hold(lease('b', '198.19.0.1/32'));
      for (let round = 0; round < 3; round++) {
        await deleteTable();
        if (round === 2) desired.set('c', lease('c', '198.19.0.0/25')); // a third layer, by the reload
        const repaired = await enforcer.reconcile(desired);
        expect(repaired.tampered, `round ${round}`).toBe(true);
        expect(repaired.events.join('\n')).toContain('table inet pinhole is missing: reloaded the table');
        await expect(enforcer.reconcile(desired), `round ${round}`).resolves.toEqual({
          tampered: false,
          missing: 0,
          extra: 0,
          events: [],
        });
      }
      expect((await listed()).filter((e) => e.startsWith('open4_2|'))).toHaveLength(1);
    } finally {
      await enforcer.close();
    }
  });
});
