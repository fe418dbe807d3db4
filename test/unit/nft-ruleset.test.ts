import { describe, expect, it } from 'vitest';
import { CommandEnforcer } from '../../client-sdk/enforcer/command-enforcer.js';
import { parseConntrackList } from '../../client-sdk/enforcer/conntrack-cut.js';
import { ElementIndex } from '../../client-sdk/enforcer/element-index.js';
import { EnforcerError } from '../../client-sdk/enforcer/errors.js';
import { toTarget } from '../../client-sdk/enforcer/lease-target.js';
import { compareStructure, parseNftJson, tableStructure } from '../../client-sdk/enforcer/nft-exec.js';
import { keysOverlap, ruleToKey } from '../../client-sdk/enforcer/nft-keys.js';
import {
  normalizeAdminCidrs,
  renderAdds,
  renderBatch,
  renderDeletes,
  renderTable,
  timeoutSeconds,
  type TableConfig,
} from '../../client-sdk/enforcer/nft-ruleset.js';
import type { EnforcerRule } from '../../client-sdk/enforcer/types.js';

const rule = (over: Partial<EnforcerRule> = {}): EnforcerRule => ({
  protocol: 'tcp',
  portFrom: 5432,
  portTo: 5432,
  sourceCidr: '198.18.1.0/24',
  destination: '198.18.1.2',
  ...over,
});

const hostCfg: TableConfig = {
  mode: 'host',
  adminCidrs: { v4: ['198.18.9.0/24'], v6: [] },
  layers: { 4: 1, 6: 1 },
};

describe('timeoutSeconds', () => {
  it('rounds the remaining lease plus grace up to whole seconds', () => {
    expect(timeoutSeconds(60_000, 5000, 0)).toBe(65);
    expect(timeoutSeconds(60_001, 0, 0)).toBe(61);
  });
  it('never renders less than one second (nft rejects 0s)', () => {
    expect(timeoutSeconds(1000, 0, 5000)).toBe(1);
  });
});

describe('ruleToKey', () => {
  it('clears host bits and prints single ports and full-length prefixes as nft lists them', () => {
    expect(ruleToKey(rule({ sourceCidr: '198.18.1.77/24', portTo: 5433 }), 'r').text).toBe(
      '198.18.1.0/24 . tcp . 5432-5433 . 198.18.1.2',
    );
    expect(ruleToKey(rule({ sourceCidr: '198.18.1.1/32' }), 'r').text).toBe(
      '198.18.1.1 . tcp . 5432 . 198.18.1.2',
    );
  });
  it('canonicalises IPv6 like nft (RFC 5952)', () => {
    const k = ruleToKey(rule({ sourceCidr: '2001:0002:0000::0001/64', destination: '2001:2:0:0::2' }), 'r');
    expect(k.text).toBe('2001:2::/64 . tcp . 5432 . 2001:2::2');
    expect(k.family).toBe(6);
  });
  it('names the field and the fix for bad rules', () => {
    expect(() => ruleToKey(rule({ destination: '2001:2::2' }), 'upserts[0].rules[1]')).toThrow(
      /upserts\[0\]\.rules\[1\]\.destination: .* one family/,
    );
    expect(() => ruleToKey(rule({ portFrom: 9, portTo: 8 }), 'r')).toThrow(EnforcerError);
    expect(() => ruleToKey(rule({ sourceCidr: '198.18.1.0/33' }), 'r')).toThrow(/sourceCidr/);
    expect(() => ruleToKey(rule({ destination: '198.18.1.0/24' }), 'r')).toThrow(/single address/);
  });
});

describe('keysOverlap', () => {
  it('overlaps when prefixes nest and port ranges intersect on the same protocol and destination', () => {
    const k = (o: Partial<EnforcerRule>) => ruleToKey(rule(o), 'r');
    expect(keysOverlap(k({}), k({ sourceCidr: '198.18.1.5/32' }))).toBe(true);
    expect(keysOverlap(k({ portTo: 5440 }), k({ portFrom: 5440, portTo: 5441 }))).toBe(true);
    expect(keysOverlap(k({}), k({ sourceCidr: '198.18.2.0/24' }))).toBe(false);
    expect(keysOverlap(k({}), k({ protocol: 'udp' }))).toBe(false);
    expect(keysOverlap(k({}), k({ portFrom: 5433, portTo: 5433 }))).toBe(false);
  });
});

describe('ElementIndex', () => {
  const key = (o: Partial<EnforcerRule>) => ruleToKey(rule(o), 'r');
  it('puts overlapping elements in separate layers and reuses freed slots', () => {
    const idx = new ElementIndex();
    idx.holdLease('a', 1);
    idx.holdLease('b', 1);
    idx.holdLease('c', 1);
    expect(idx.place('a', key({})).placement.layer).toBe(0);
    const b = idx.place('b', key({ sourceCidr: '198.18.1.9/32' }));
    expect(b).toMatchObject({ newLayer: true, placement: { layer: 1 } });
    expect(idx.place('c', key({ sourceCidr: '198.18.2.0/24' })).placement.layer).toBe(0);
    idx.removeLease('a');
    idx.holdLease('d', 1);
    expect(idx.place('d', key({ sourceCidr: '198.18.0.0/16', portFrom: 1, portTo: 9 })).placement.layer).toBe(
      0,
    );
  });
  it('rolls back every staged change', () => {
    const idx = new ElementIndex();
    idx.holdLease('a', 1);
    idx.place('a', key({}));
    idx.begin();
    idx.removeLease('a');
    idx.holdLease('b', 2);
    idx.place('b', key({}));
    idx.place('b', key({ sourceCidr: '198.18.1.1/32' }));
    idx.rollback();
    expect([...idx.leases.keys()]).toEqual(['a']);
    expect(idx.layerCount(4)).toBe(1);
    expect(idx.anyOverlap(key({ sourceCidr: '198.18.1.3/32' }))).toBe(true);
  });
  it('places 10k distinct sources for one destination without quadratic cost', () => {
    const idx = new ElementIndex();
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) {
      idx.holdLease(`l${i}`, 1);
      idx.place(`l${i}`, key({ sourceCidr: `198.19.${i >> 8}.${i & 255}/32` }));
    }
    expect(idx.layerCount(4)).toBe(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('rendering', () => {
  it('renders the host table: drop policy, established, lo, admin, ND, lookups, idempotent reload', () => {
    const text = renderTable(hostCfg, []);
    expect(text.startsWith('add table inet pinhole\ndelete table inet pinhole\ntable inet pinhole {\n')).toBe(
      true,
    );
    expect(text).toContain(
      'type ipv4_addr . inet_proto . inet_service . ipv4_addr\n    flags interval,timeout\n    counter',
    );
    expect(text).toContain('type ipv6_addr . inet_proto . inet_service . ipv6_addr');
    expect(text).toContain(
      'type filter hook input priority 0; policy drop;\n    ct state established,related accept\n    iif lo accept',
    );
    expect(text).toContain('ip saddr { 198.18.9.0/24 } accept');
    expect(text).toMatch(
      /icmpv6 type \{ nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert \} ip6 hoplimit 255 accept/,
    );
    expect(text).toContain('ip saddr . meta l4proto . th dport . ip daddr @open4 accept');
    expect(text).toContain('ip6 saddr . meta l4proto . th dport . ip6 daddr @open6 accept');
    // nft -f needs the closing brace of a chain on its own line.
    expect(text).toMatch(/accept\n {2}\}\n\}\n$/);
  });
  it('renders the gateway table on the forward hook without host-only rules', () => {
    const text = renderTable(
      { ...hostCfg, mode: 'gateway', adminCidrs: { v4: [], v6: [] }, layers: { 4: 2, 6: 1 } },
      [],
    );
    expect(text).toContain('chain forward {\n    type filter hook forward priority 0; policy drop;');
    expect(text).not.toContain('iif lo');
    expect(text).not.toContain('icmpv6');
    expect(text).toContain('set open4_1 {');
    expect(text).toContain('@open4_1 accept');
  });
  it('renders elements with timeout AND expires (a same-value re-add would not reset the expiry) and the lease id as comment', () => {
    const text = renderAdds([
      {
        set: 'open4',
        keyText: '198.18.1.0/24 . tcp . 5432-5433 . 198.18.1.2',
        timeoutS: 60,
        comment: 'lse_abc',
      },
    ]);
    expect(text).toBe(
      'add element inet pinhole open4 {\n  198.18.1.0/24 . tcp . 5432-5433 . 198.18.1.2 timeout 60s expires 60s comment "lse_abc"\n}\n',
    );
  });
  it('renders deletes that cannot fail on an already-expired element', () => {
    const text = renderDeletes([{ set: 'open6', keyText: '2001:2::/64 . udp . 53 . 2001:2::2' }]);
    expect(text).toBe(
      'add element inet pinhole open6 {\n  2001:2::/64 . udp . 53 . 2001:2::2 timeout 1s\n}\ndelete element inet pinhole open6 {\n  2001:2::/64 . udp . 53 . 2001:2::2\n}\n',
    );
  });
  it('orders a batch: new layers, then deletes, then adds', () => {
    const text = renderBatch(hostCfg, {
      layers: [{ family: 4, layer: 1 }],
      deletes: [{ set: 'open4', keyText: 'K1' }],
      adds: [{ set: 'open4_1', keyText: 'K2', timeoutS: 5, comment: 'x' }],
    });
    const at = (s: string) => text.indexOf(s);
    expect(at('add set inet pinhole open4_1')).toBe(0);
    expect(
      at('add rule inet pinhole input ip saddr . meta l4proto . th dport . ip daddr @open4_1 accept'),
    ).toBeGreaterThan(0);
    expect(at('delete element')).toBeGreaterThan(at('add rule'));
    expect(at('K2 timeout 5s')).toBeGreaterThan(at('delete element'));
  });
  it('normalises admin CIDRs: masks, splits by family, drops contained ones', () => {
    expect(
      normalizeAdminCidrs(['198.18.9.7/24', '198.18.9.128/25', '2001:2:9::1/48', '198.18.0.0/15']),
    ).toEqual({
      v4: ['198.18.0.0/15'],
      v6: ['2001:2:9::/48'],
    });
    expect(() => normalizeAdminCidrs(['nope'])).toThrow(/adminCidrs\[0\]/);
  });
  it('rejects lease ids that cannot be a quoted nft comment', () => {
    const lease = { leaseId: 'a"b', rules: [rule()], expiresAtMs: 1 };
    expect(() => toTarget([[lease.leaseId, lease]], 'upserts')).toThrow(/upserts\[0\]\.leaseId/);
    const long = { ...lease, leaseId: 'x'.repeat(129) };
    expect(() => toTarget([[long.leaseId, long]], 'upserts')).toThrow(/1-128 characters/);
  });
});

describe('parsing nft -j listings', () => {
  const listing = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'pinhole', handle: 3 } },
      {
        set: {
          family: 'inet',
          name: 'open4',
          table: 'pinhole',
          type: ['ipv4_addr', 'inet_proto', 'inet_service', 'ipv4_addr'],
          handle: 2,
          flags: ['interval', 'timeout'],
          elem: [
            {
              elem: {
                val: {
                  concat: [
                    { prefix: { addr: '198.18.1.0', len: 24 } },
                    'tcp',
                    { range: [5432, 5433] },
                    '198.18.0.2',
                  ],
                },
                timeout: 60,
                expires: 59,
                comment: 'lse_abc',
                counter: { packets: 3, bytes: 180 },
              },
            },
            {
              elem: {
                val: { concat: ['198.18.1.1', 'udp', 53, '198.18.1.2'] },
                counter: { packets: 0, bytes: 0 },
              },
            },
          ],
          stmt: [{ counter: null }],
        },
      },
      {
        chain: {
          family: 'inet',
          table: 'pinhole',
          name: 'input',
          handle: 1,
          type: 'filter',
          hook: 'input',
          prio: 0,
          policy: 'drop',
        },
      },
      {
        rule: {
          family: 'inet',
          table: 'pinhole',
          chain: 'input',
          handle: 3,
          expr: [
            { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } },
            { accept: null },
          ],
        },
      },
    ],
  });

  it('extracts elements with canonical keys, comments, timeouts and counters', () => {
    const parsed = parseNftJson(listing);
    const [a, b] = parsed.sets[0]?.elements ?? [];
    expect(a).toEqual({
      set: 'open4',
      keyText: '198.18.1.0/24 . tcp . 5432-5433 . 198.18.0.2',
      comment: 'lse_abc',
      timeoutS: 60,
      expiresS: 59,
      packets: 3,
      bytes: 180,
    });
    expect(a?.keyText).toBe(ruleToKey(rule({ portTo: 5433, destination: '198.18.0.2' }), 'r').text);
    expect(b).toMatchObject({
      keyText: '198.18.1.1 . udp . 53 . 198.18.1.2',
      comment: undefined,
      timeoutS: undefined,
    });
    expect(parsed.rules[0]?.verdicts).toEqual(['accept']);
  });
  it('compares structures ignoring handles and elements', () => {
    const base = tableStructure(parseNftJson(listing));
    expect(base).toBeDefined();
    if (base === undefined) return;
    const renumbered = listing
      .replaceAll('"handle":3', '"handle":9')
      .replace(/"elem":\[.*?\],"stmt"/, '"stmt"');
    expect(compareStructure(base, tableStructure(parseNftJson(renumbered)))).toEqual([]);
    const flushed = JSON.stringify({
      nftables: (JSON.parse(listing) as { nftables: unknown[] }).nftables.slice(0, 4),
    });
    expect(compareStructure(base, tableStructure(parseNftJson(flushed)))).toEqual([
      'chain input has 0 rules, expected 1',
    ]);
    expect(compareStructure(base, undefined)).toEqual(['table inet pinhole is missing']);
    expect(() => parseNftJson('{oops')).toThrow(EnforcerError);
  });
});

describe('parseConntrackList', () => {
  it('takes the original-direction tuple of each entry', () => {
    const text =
      'tcp      6 431999 ESTABLISHED src=198.18.1.1 dst=198.18.1.2 sport=40000 dport=5432 src=198.18.1.2 dst=198.18.1.1 sport=5432 dport=40000 [ASSURED] mark=0 use=1\n' +
      'udp      17 29 src=2001:2::1 dst=2001:2::2 sport=5353 dport=53 [UNREPLIED] src=2001:2::2 dst=2001:2::1 sport=53 dport=5353 mark=0 use=1\n';
    expect(parseConntrackList(text)).toEqual([
      { protocol: 'tcp', src: '198.18.1.1', dst: '198.18.1.2', sport: 40000, dport: 5432 },
      { protocol: 'udp', src: '2001:2::1', dst: '2001:2::2', sport: 5353, dport: 53 },
    ]);
  });
});

describe('CommandEnforcer', () => {
  // The adapter echoes a report for reconcile and fails when asked to delete "boom".
  const adapter = `
    let s = ''; process.stdin.on('data', (d) => (s += d)).on('end', () => {
      const m = JSON.parse(s);
      if (m.op === 'apply' && m.deletes.includes('boom')) { process.stderr.write('cannot delete boom'); process.exit(3); }
      if (m.op === 'reconcile') console.log(JSON.stringify({ tampered: true, missing: m.desired.length, extra: 0, events: ['seen ' + m.desired[0].leaseId] }));
      if (m.op === 'counters') console.log(JSON.stringify([{ leaseId: 'a', packets: 2, bytes: 120 }]));
    });`;
  const enforcer = (): CommandEnforcer => new CommandEnforcer({ command: [process.execPath, '-e', adapter] });
  const lease = { leaseId: 'a', rules: [rule()], expiresAtMs: 1 };

  it('sends one JSON line per operation and parses reports and counters', async () => {
    const e = enforcer();
    await e.init();
    await e.apply({ upserts: [lease], deletes: [] });
    await expect(e.reconcile(new Map([['a', lease]]))).resolves.toEqual({
      tampered: true,
      missing: 1,
      extra: 0,
      events: ['seen a'],
    });
    await expect(e.counters()).resolves.toEqual([{ leaseId: 'a', packets: 2, bytes: 120 }]);
    await e.close();
    await e.close();
    await expect(e.init()).rejects.toMatchObject({ code: 'CLOSED' });
  });
  it('turns a non-zero exit into COMMAND_FAILED with the program stderr', async () => {
    await expect(enforcer().apply({ upserts: [], deletes: ['boom'] })).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
      message: expect.stringContaining('cannot delete boom') as unknown,
    });
  });
});
