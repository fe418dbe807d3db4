/**
 * The enforcer's bulk path without a kernel: validation fast paths, chunked rendering and the diff of
 * a flushed table. The kernel side (nft accepts the chunks as one transaction) is in
 * test/netns/nft-streaming.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  diffElements,
  findTampering,
  indexElement,
  type KernelElement,
  type KernelIndex,
  type WantedElement,
} from '../../client-sdk/enforcer/element-diff.js';
import { ElementIndex } from '../../client-sdk/enforcer/element-index.js';
import { leasesToTarget, toTarget, type Target } from '../../client-sdk/enforcer/lease-target.js';
import { ruleToKey } from '../../client-sdk/enforcer/nft-keys.js';
import {
  CHUNK_CHARS,
  renderAddChunks,
  renderAdds,
  renderBatch,
  renderBatchChunks,
  renderTable,
  renderTableChunks,
  type ElementAdd,
  type TableConfig,
} from '../../client-sdk/enforcer/nft-ruleset.js';
import type { EnforcerLease, EnforcerRule } from '../../client-sdk/enforcer/types.js';

const rule = (over: Partial<EnforcerRule> = {}): EnforcerRule => ({
  protocol: 'tcp',
  portFrom: 5432,
  portTo: 5432,
  sourceCidr: '198.18.1.0/24',
  destination: '198.18.1.2',
  ...over,
});

const cfg: TableConfig = { mode: 'host', adminCidrs: { v4: [], v6: [] }, layers: { 4: 2, 6: 1 } };

const adds = (count: number, set = (i: number) => (i % 3 === 0 ? 'open4_1' : 'open4')): ElementAdd[] =>
  Array.from({ length: count }, (_, i) => ({
    set: set(i),
    keyText: `198.19.${i >> 8}.${i & 255} . tcp . 5432 . 198.18.0.2`,
    timeoutS: 600,
    comment: `lse_${i}`,
    fresh: i % 2 === 0,
  }));

describe('ruleToKey, IPv4 fast path', () => {
  const text = (over: Partial<EnforcerRule>) => ruleToKey(rule(over), 'r').text;
  it('canonicalises prefixes as the general path did', () => {
    expect(text({ sourceCidr: '198.18.1.77/24' })).toBe('198.18.1.0/24 . tcp . 5432 . 198.18.1.2');
    expect(text({ sourceCidr: '198.18.1.0/24' })).toBe('198.18.1.0/24 . tcp . 5432 . 198.18.1.2');
    expect(text({ sourceCidr: '10.1.2.3/0' })).toBe('0.0.0.0/0 . tcp . 5432 . 198.18.1.2');
    expect(text({ sourceCidr: '255.255.255.255/1' })).toBe('128.0.0.0/1 . tcp . 5432 . 198.18.1.2');
    expect(text({ sourceCidr: '198.18.1.9' })).toBe('198.18.1.9 . tcp . 5432 . 198.18.1.2');
    expect(ruleToKey(rule({ sourceCidr: '198.18.1.77/24' }), 'r')).toMatchObject({
      family: 4,
      srcNet: (198n << 24n) | (18n << 16n) | (1n << 8n),
      srcLen: 24,
    });
  });
  it('still refuses what the general path refused', () => {
    for (const sourceCidr of ['198.018.1.1', '198.18.1.1/', '198.18.1.1/33', '198.18.1.1/2x', '198.18.1'])
      expect(() => ruleToKey(rule({ sourceCidr }), 'r'), sourceCidr).toThrow(/sourceCidr/);
  });
  it('remembers the last destination without mixing families or protocols', () => {
    const v4 = ruleToKey(rule(), 'r');
    const v6 = ruleToKey(rule({ sourceCidr: '2001:2::/64', destination: '2001:2::2' }), 'r');
    const again = ruleToKey(rule({ sourceCidr: '198.18.7.0/24' }), 'r');
    const udp = ruleToKey(rule({ protocol: 'udp' }), 'r');
    expect([v4.family, v6.family, again.family]).toEqual([4, 6, 4]);
    expect(again.bucket).toBe(v4.bucket);
    expect(udp.bucket).not.toBe(v4.bucket);
    expect(() => ruleToKey(rule({ destination: '2001:2::2' }), 'r')).toThrow(/one family/);
  });
});

describe('leasesToTarget', () => {
  const lease = (leaseId: string, rules: EnforcerRule[]): EnforcerLease => ({
    leaseId,
    rules,
    expiresAtMs: 1,
  });
  it('is toTarget of a list: the later of two upserts wins, duplicate rules collapse', () => {
    const list = [
      lease('a', [rule()]),
      lease('b', [rule(), rule({ portTo: 5433 }), rule()]),
      lease('a', [rule({ sourceCidr: '198.18.2.0/24' })]),
    ];
    const t = leasesToTarget(list, 'upserts');
    expect(t).toEqual(toTarget([...new Map(list.map((l) => [l.leaseId, l]))], 'upserts'));
    expect(t.get('a')?.keys.map((k) => k.text)).toEqual(['198.18.2.0/24 . tcp . 5432 . 198.18.1.2']);
    expect(t.get('b')?.keys).toHaveLength(2);
  });
  it('names the lease and rule of an error', () => {
    expect(() =>
      leasesToTarget(
        [lease('a', [rule()]), lease('b', [rule(), rule({ portFrom: 9, portTo: 8 })])],
        'upserts',
      ),
    ).toThrow(/^upserts\[1\]\.rules\[1\]\.portFrom/);
    expect(() => leasesToTarget([lease('a"', [rule()])], 'upserts')).toThrow(/^upserts\[0\]\.leaseId/);
  });
});

describe('chunked rendering', () => {
  it('joins to exactly the one-string form, one command per set, chunks of at least CHUNK_CHARS', () => {
    const many = adds(5000);
    const chunks = [...renderAddChunks(many)];
    expect(chunks.join('')).toBe(renderAdds(many));
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(CHUNK_CHARS);
    const text = chunks.join('');
    expect(text.match(/^add element /gm)).toEqual(['add element ', 'add element ']);
    expect(text.split('\n').filter((l) => l.includes(' . tcp . '))).toHaveLength(5000);
    // Fresh elements start with their full timeout; re-added ones reset their expiry explicitly.
    expect(text).toContain('198.19.0.0 . tcp . 5432 . 198.18.0.2 timeout 600s comment "lse_0"');
    expect(text).toContain('198.19.0.1 . tcp . 5432 . 198.18.0.2 timeout 600s expires 600s comment "lse_1"');
  });
  it('cuts chunks only inside an element list, so a script that stops at a cut never parses', () => {
    const many = adds(6000);
    const batch = {
      layers: [{ family: 4 as const, layer: 2 }],
      deletes: many.slice(0, 2500).map((a) => ({ set: a.set, keyText: a.keyText })),
      adds: many.slice(2500),
    };
    for (const chunks of [[...renderBatchChunks(cfg, batch)], [...renderTableChunks(cfg, many)]]) {
      expect(chunks.length).toBeGreaterThan(3);
      let prefix = '';
      for (const c of chunks.slice(0, -1)) {
        prefix += c;
        const open = prefix.split('{').length - prefix.split('}').length;
        expect(open, `cut at ${prefix.length}: ${JSON.stringify(prefix.slice(-40))}`).toBeGreaterThan(0);
      }
    }
  });
  it('renders tables and batches in chunks equal to their one-string forms', () => {
    const many = adds(3000);
    expect([...renderTableChunks(cfg, many)].join('')).toBe(renderTable(cfg, many));
    const batch = {
      layers: [{ family: 4 as const, layer: 2 }],
      deletes: many.slice(0, 1200).map((a) => ({ set: a.set, keyText: a.keyText })),
      adds: many.slice(1200),
    };
    expect([...renderBatchChunks(cfg, batch)].join('')).toBe(renderBatch(cfg, batch));
    expect(renderBatch(cfg, { layers: [], deletes: [], adds: [] })).toBe('');
  });
});

describe('ElementIndex at bulk scale', () => {
  const key = (i: number) => ruleToKey(rule({ sourceCidr: `198.19.${i >> 8}.${i & 255}/32` }), 'r');
  it('rolls back a staged bulk batch, renewals and removals included', () => {
    const idx = new ElementIndex();
    const first: Target = new Map(
      Array.from({ length: 500 }, (_, i) => [`l${i}`, { expiresAtMs: 10, keys: [key(i)] }] as const),
    );
    idx.stage(first, [], () => false);
    idx.commit();
    // Renew half with a second key each, drop a quarter, add a wide key that needs a second layer.
    const next: Target = new Map(
      Array.from(
        { length: 250 },
        (_, i) => [`l${i}`, { expiresAtMs: 20, keys: [key(i), key(i + 1000)] }] as const,
      ),
    );
    next.set('wide', { expiresAtMs: 20, keys: [ruleToKey(rule({ sourceCidr: '198.19.0.0/16' }), 'r')] });
    const staged = idx.stage(
      next,
      Array.from({ length: 125 }, (_, i) => `l${499 - i}`),
      () => false,
    );
    expect(staged).toMatchObject({ layers: [{ family: 4, layer: 1 }] });
    expect([staged.kept.length, staged.placed.length, staged.removed.length]).toEqual([250, 251, 125]);
    idx.rollback();
    expect(idx.leases.size).toBe(500);
    expect(idx.layerCount(4)).toBe(1);
    expect(
      idx
        .all()
        .map((p) => `${p.set}|${p.keyText}`)
        .sort(),
    ).toEqual(Array.from({ length: 500 }, (_, i) => `open4|${key(i).text}`).sort());
    expect([...idx.leases.values()].every((l) => l.expiresAtMs === 10 && l.placements.length === 1)).toBe(
      true,
    );
  });
});

describe('diffing a listing', () => {
  const el = (set: string, keyText: string, comment: string | undefined, timeoutS = 60): KernelElement => ({
    set,
    keyText,
    comment,
    timeoutS,
    expiresS: timeoutS,
    packets: 0,
    bytes: 0,
  });
  const index = (els: KernelElement[]): KernelIndex => {
    const out: KernelIndex = new Map();
    for (const e of els) indexElement(out, e.keyText ?? '', e);
    return out;
  };
  const want = (set: string, keyText: string, leaseId: string, over: Partial<WantedElement> = {}) => ({
    set,
    keyText,
    leaseId,
    timeoutS: 60,
    alive: true,
    ...over,
  });

  it('of a flushed table lists the first findings and counts the rest', () => {
    const believed = Array.from({ length: 50 }, (_, i) => ({
      set: 'open4',
      keyText: `k${i}`,
      leaseId: `l${i}`,
    }));
    const events = findTampering(believed, new Map(), () => true);
    expect(events).toHaveLength(21);
    expect(events[0]).toBe('element open4 k0 of lease l0 was missing');
    expect(events[20]).toBe('... and 30 more');
    const diff = diffElements(
      new Map(),
      believed.map((b) => want(b.set, b.keyText, b.leaseId)),
    );
    expect(diff.missing).toHaveLength(50);
  });

  it('finds extra, missing, replaced, moved and stale elements; dying ones are neither missing nor extra', () => {
    const kernel = index([
      el('open4', 'a', 'l1'), // in sync
      el('open4', 'b', 'l2', 300), // expiry off: refresh
      el('open4', 'c', 'intruder'), // another comment in a wanted slot: replace
      el('open4', 'd', 'l4'), // not wanted: extra
      el('open4_1', 'e', 'l5'), // wanted in open4: extra here, missing there
      el('open4', 'f', 'l6'), // dying, still there: kept
    ]);
    const wanted = [
      want('open4', 'a', 'l1'),
      want('open4', 'b', 'l2'),
      want('open4', 'c', 'l3'),
      want('open4', 'e', 'l5'),
      want('open4', 'f', 'l6', { alive: false }),
      want('open4', 'g', 'l7', { alive: false }),
    ];
    const diff = diffElements(kernel, wanted);
    expect(diff.refresh.map((w) => w.keyText)).toEqual(['b']);
    expect(diff.missing.map((w) => w.keyText)).toEqual(['c', 'e']);
    expect(diff.extra.map((e) => `${e.set} ${e.keyText ?? ''}`).sort()).toEqual([
      'open4 c',
      'open4 d',
      'open4_1 e',
    ]);
    const known = new Set(['l1', 'l2', 'l4', 'l5', 'l6']);
    expect(
      findTampering([{ set: 'open4', keyText: 'a', leaseId: 'l1' }], kernel, (id) => known.has(id)),
    ).toEqual(['unknown element open4 c (comment "intruder")']);
  });
});
