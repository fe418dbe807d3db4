/**
 * The indexed evaluator must agree with the linear reference evaluator on random policies and
 * requests, and the CIDR/port primitives both rely on must agree with brute force over small spaces.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OpenRequest, OpeningSpec, Source } from '../../server/core/types.js';
import type { HostDirectory } from '../../server/policy/api.js';
import { compilePolicyData } from '../../server/policy/compile.js';
import { NO_LOCATION } from '../../server/policy/diagnostics.js';
import { PolicyEngine } from '../../server/policy/engine.js';
import { IntervalTree } from '../../server/policy/interval-tree.js';
import {
  canonical,
  intersect,
  parseCidr,
  setSize,
  subtract,
  union,
  type Cidr,
} from '../../server/policy/net.js';
import { ReferenceEvaluator } from '../../server/policy/reference-evaluator.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const SEED = 20240601;

const HOSTS: Record<string, string[]> = {
  h0: ['10.0.0.1'],
  h1: ['10.0.0.2', 'fd00::2'],
  h2: ['10.0.0.5'],
  h3: ['10.0.0.9', 'fd00::9'],
  h4: ['fd00::20'],
  x1: ['10.1.0.7'],
};
const directory: HostDirectory = {
  addressesOf: (n) => HOSTS[n],
  hostNames: () => Object.keys(HOSTS),
};

const CIDRS = [
  '10.0.0.0/30',
  '10.0.0.4/30',
  '10.0.0.0/29',
  '10.0.0.0/24',
  '10.0.0.8/29',
  '10.1.0.0/24',
  'fd00::/124',
  'fd00::/120',
  '10.0.0.2',
];
const GLOBS = ['h0', 'h1', 'h[2-3]', 'h*', 'x*'];
const GROUPS = ['g0', 'g1', 'g2', 'g3'];

const portRange = fc
  .tuple(fc.constantFrom('tcp', 'udp'), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 4 }))
  .map(([p, a, w]) => (w === 0 ? `${p}/${a}` : `${p}/${a}-${a + w}`));

const groupDef = (i: number): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record(
      {
        hosts: fc.subarray(GLOBS, { maxLength: 2 }),
        cidrs: fc.subarray(
          CIDRS.filter((c) => c.includes('/')),
          { maxLength: 2 },
        ),
        groups: fc.subarray(GROUPS.slice(0, i), { maxLength: Math.min(2, i) }), // only earlier groups: no cycles
      },
      { requiredKeys: [] },
    )
    .map((g) => (Object.keys(g).length === 0 ? { hosts: ['h0'] } : g));

const fromTerm = fc.constantFrom('any', ...GROUPS, ...CIDRS, 'host:h0', 'host:h3', 'host:nobody');
const toTerm = fc.constantFrom('self', 'any', 'g1', '10.0.0.0/29', 'host:h2');

const ruleDef = fc
  .record({
    requesters: fc.subarray(['any', ...GROUPS, 'host:h0', 'host:h1', 'host:h4'], {
      minLength: 1,
      maxLength: 2,
    }),
    open: fc.array(
      fc.oneof({ weight: 5, arbitrary: portRange }, { weight: 1, arbitrary: fc.constant('domain') }),
      { minLength: 1, maxLength: 2 },
    ),
    from: fc.array(fromTerm, { minLength: 1, maxLength: 2 }),
    to: fc.option(fc.array(toTerm, { minLength: 1, maxLength: 2 }), { nil: undefined }),
    deny: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    manual: fc.boolean(),
    maxTtl: fc.constantFrom(undefined, '1m', '5m', '10m'),
    expires: fc.constantFrom(undefined, '2020-01-01', '2030-01-01'),
  })
  .map((r) => {
    const rule: Record<string, unknown> = { requesters: r.requesters, open: r.open, from: r.from };
    if (r.to !== undefined) rule['to'] = r.to;
    if (r.expires !== undefined) rule['expires'] = r.expires;
    if (r.deny) rule['effect'] = 'deny';
    else {
      if (r.manual) rule['approval'] = 'manual';
      if (r.maxTtl !== undefined) rule['max_ttl'] = r.maxTtl;
    }
    return rule;
  });

const policyDoc = fc
  .tuple(
    groupDef(0),
    groupDef(1),
    groupDef(2),
    groupDef(3),
    fc.array(ruleDef, { minLength: 1, maxLength: 8 }),
  )
  .map(([g0, g1, g2, g3, rules]) => ({
    defaults: { ttl: '2m', min_ttl: '30s', max_ttl: '8m', max_lifetime: '1h' },
    groups: { g0, g1, g2, g3 },
    rules: rules.map((r, k) => ({ id: `r${k}`, ...r })),
  }));

const source: fc.Arbitrary<Source> = fc.oneof(
  fc.constantFrom(...CIDRS).map((cidr): Source => ({ kind: 'cidr', cidr })),
  fc.constantFrom(...GROUPS).map((name): Source => ({ kind: 'group', name })),
  fc.constantFrom('h0', 'h3', 'nobody').map((name): Source => ({ kind: 'host', name })),
  fc.constant<Source>({ kind: 'any' }),
);

const opening: fc.Arbitrary<OpeningSpec> = fc
  .record({
    proto: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
    from: fc.integer({ min: 1, max: 14 }),
    width: fc.integer({ min: 0, max: 6 }),
    app: fc.boolean(),
    sources: fc.array(source, { maxLength: 2 }),
    destinations: fc.subarray(['10.0.0.1', '10.0.0.2', 'fd00::2', '10.0.0.5', '10.0.0.200'], {
      maxLength: 2,
    }),
  })
  .map((o): OpeningSpec =>
    o.app && o.from < 4
      ? { app: 'domain', sources: o.sources, destinations: o.destinations }
      : {
          ports: { protocol: o.proto, from: o.from, to: Math.min(65535, o.from + o.width) },
          sources: o.sources,
          destinations: o.destinations,
        },
  );

const request = fc.record({
  host: fc.constantFrom(...Object.keys(HOSTS)),
  openings: fc.array(opening, { minLength: 1, maxLength: 2 }),
  ttl: fc.constantFrom(0, 10, 120, 400, 7200),
  allOrNothing: fc.boolean(),
});

function attempt<T>(f: () => T): { ok: true; value: T } | { ok: false; error: string } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

describe('indexed evaluator vs reference evaluator', () => {
  it('gives identical decisions on random policies and requests', () => {
    let decided = 0;
    fc.assert(
      fc.property(policyDoc, fc.array(request, { minLength: 1, maxLength: 3 }), (doc, requests) => {
        const compiled = compilePolicyData(doc, 'random', NO_LOCATION, { nowMs: NOW });
        if (!compiled.ok)
          throw new Error(
            `generator made an invalid policy: ${compiled.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
          );
        const engine = new PolicyEngine(compiled.policy);
        const reference = new ReferenceEvaluator(compiled.policy);
        for (const r of requests) {
          const requester = { name: r.host, addresses: HOSTS[r.host] ?? [] };
          const req: OpenRequest = {
            requestId: 'p',
            openings: r.openings,
            requestedTtlSeconds: r.ttl,
            description: '',
            allOrNothing: r.allOrNothing,
          };
          const fast = attempt(() => engine.decide(requester, req, directory, NOW));
          const slow = attempt(() => reference.decide(requester, req, directory, NOW));
          expect(fast).toEqual(slow);
          if (fast.ok) decided++;
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
    expect(decided).toBeGreaterThan(1000);
  });
});

describe('primitives vs brute force', () => {
  // A /26 universe: every CIDR set is a set of at most 64 addresses we can enumerate.
  const cidr = fc
    .tuple(fc.integer({ min: 26, max: 32 }), fc.integer({ min: 0, max: 63 }))
    .map(([prefix, host]) => {
      const size = 2 ** (32 - prefix);
      return parseCidr(`10.9.9.${Math.floor(host / size) * size}/${prefix}`) as Cidr;
    });
  const small = fc.array(cidr, { maxLength: 5 });
  const members = (set: readonly Cidr[]): Set<bigint> => {
    const out = new Set<bigint>();
    for (const c of set) for (let a = c.start; a <= c.end; a++) out.add(a);
    return out;
  };

  it('union, intersect and subtract of CIDR sets match set arithmetic on addresses', () => {
    fc.assert(
      fc.property(small, small, (a0, b0) => {
        const a = canonical(a0);
        const b = canonical(b0);
        const A = members(a);
        const B = members(b);
        expect(members(union(a, b))).toEqual(new Set([...A, ...B]));
        expect(members(intersect(a, b))).toEqual(new Set([...A].filter((x) => B.has(x))));
        const diff = subtract(a, b);
        expect(members(diff)).toEqual(new Set([...A].filter((x) => !B.has(x))));
        expect(setSize(diff)).toBe(BigInt(members(diff).size)); // canonical sets are disjoint
        expect(canonical(diff)).toEqual(diff); // and stay canonical
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  it('the interval tree returns exactly the overlapping intervals', () => {
    const interval = fc
      .tuple(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 30 }))
      .map(([f, w]) => ({ from: f, to: f + w }));
    fc.assert(
      fc.property(fc.array(interval, { maxLength: 40 }), interval, (list, q) => {
        const tree = new IntervalTree(list.map((iv, i) => ({ ...iv, value: i })));
        const got: number[] = [];
        tree.query(q.from, q.to, (v) => got.push(v));
        const want = list.flatMap((iv, i) => (iv.from <= q.to && q.from <= iv.to ? [i] : []));
        expect(got.sort((x, y) => x - y)).toEqual(want);
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
