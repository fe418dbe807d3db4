/** Decisions of the policy engine on test/fixtures/policy/decide.yaml: every outcome, with rule ids. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PinholeError } from '../../server/core/errors.js';
import type { ConcreteRule, OpenRequest, OpeningSpec, Source } from '../../server/core/types.js';
import type { HostDirectory } from '../../server/policy/api.js';
import { PolicyEngine } from '../../server/policy/engine.js';
import { loadPolicyText } from '../../server/policy/loader.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/policy/decide.yaml');
const NOW = Date.parse('2026-03-01T12:00:00Z');

function engineFor(text: string): PolicyEngine {
  const r = loadPolicyText(text, 'decide.yaml', { nowMs: NOW });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return new PolicyEngine(r.policy);
}
const engine = engineFor(readFileSync(FIXTURE, 'utf8'));

/** The server's host directory: certificate addresses of hosts seen so far. */
function dir(hosts: Record<string, string[]> = {}): HostDirectory {
  return { addressesOf: (n) => hosts[n], hostNames: () => Object.keys(hosts) };
}
const empty = dir();
const web1 = { name: 'web-1', addresses: ['198.18.0.2'] };
const deploy1 = { name: 'deploy-1', addresses: ['198.18.9.20'] };
const db1 = { name: 'db-1', addresses: ['198.18.1.10'] };

const cidr = (c: string): Source => ({ kind: 'cidr', cidr: c });
function tcp(from: number, to = from, sources: Source[] = [], destinations: string[] = []): OpeningSpec {
  return { ports: { protocol: 'tcp', from, to }, sources, destinations };
}
function req(openings: OpeningSpec[], o: { ttl?: number; all?: boolean } = {}): OpenRequest {
  return {
    requestId: 'r1',
    openings,
    requestedTtlSeconds: o.ttl ?? 0,
    description: '',
    allOrNothing: o.all ?? false,
  };
}
const rule = (
  portFrom: number,
  portTo: number,
  sourceCidr: string,
  destination = '198.18.0.2',
): ConcreteRule => ({ protocol: 'tcp', portFrom, portTo, sourceCidr, destination });

describe('GRANTED', () => {
  it('grants a request inside a rule, with the rule id, concrete rules and the default TTL', () => {
    const d = engine.decide(web1, req([tcp(5432, 5432, [cidr('198.18.1.0/24')])]), empty, NOW);
    expect(d).toMatchObject({
      outcome: 'GRANTED',
      ruleId: 'web-db',
      narrowings: [],
      wouldAllow: '',
      ttlSeconds: 300,
      maxLifetimeSeconds: 86_400,
    });
    expect(d.rules).toEqual([rule(5432, 5432, '198.18.1.0/24')]);
    expect(d.reason).toBe('rule web-db allows tcp/5432 from 198.18.1.0/24 to 198.18.0.2');
    expect(d.openings).toEqual([{ openingIndex: 0, outcome: 'GRANTED', ruleId: 'web-db', reason: d.reason }]);
  });

  it('resolves a group source to the known addresses of its hosts (directory first, then inventory)', () => {
    const group: Source = { kind: 'group', name: 'dbs' };
    const fromInventory = engine.decide(
      db1,
      req([{ app: 'postgresql', sources: [group], destinations: [] }]),
      empty,
      NOW,
    );
    expect(fromInventory).toMatchObject({ outcome: 'GRANTED', ruleId: 'db-repl' });
    // db-1 (.10) and db-2 (.11) are sibling /32s: canonical sets merge them into one /31.
    expect(fromInventory.rules).toEqual([rule(5432, 5432, '198.18.1.10/31', '198.18.1.10')]);
    // db-2's certificate says .99: the directory wins over the static inventory address.
    const seen = engine.decide(
      db1,
      req([{ app: 'postgresql', sources: [{ kind: 'host', name: 'db-2' }], destinations: [] }]),
      dir({ 'db-2': ['198.18.1.99'] }),
      NOW,
    );
    expect(seen.rules).toEqual([rule(5432, 5432, '198.18.1.99/32', '198.18.1.10')]);
  });

  it('pairs sources and destinations by address family only', () => {
    const dual = { name: 'dual-1', addresses: ['198.18.5.5', '2001:db8::5'] };
    const any = engine.decide(dual, req([tcp(443)]), empty, NOW);
    expect(any).toMatchObject({ outcome: 'GRANTED', ruleId: 'dual-stack' });
    expect(any.rules).toEqual([
      rule(443, 443, '0.0.0.0/0', '198.18.5.5'),
      rule(443, 443, '::/0', '2001:db8::5'),
    ]);
    const v4Only = engine.decide(dual, req([tcp(443, 443, [cidr('10.0.0.0/8')])]), empty, NOW);
    expect(v4Only.outcome).toBe('GRANTED');
    expect(v4Only.rules).toEqual([rule(443, 443, '10.0.0.0/8', '198.18.5.5')]);
  });
});

describe('PARTIAL: narrowing of sources, ports, destinations and TTL', () => {
  it('narrows a broader source to the allowed CIDRs inside it and explains it', () => {
    const d = engine.decide(web1, req([tcp(5432, 5432, [cidr('198.18.0.0/16')])]), empty, NOW);
    expect(d).toMatchObject({ outcome: 'PARTIAL', ruleId: 'web-db' });
    expect(d.rules).toEqual([rule(5432, 5432, '198.18.1.0/24')]);
    expect(d.narrowings).toEqual([
      {
        openingIndex: 0,
        field: 'sources',
        requested: '198.18.0.0/16',
        granted: '198.18.1.0/24',
        ruleId: 'web-db',
        reason: 'rule web-db allows tcp/5432 only from group replicas',
      },
    ]);
  });

  it('narrows ports to the rule range', () => {
    const d = engine.decide(web1, req([tcp(7990, 8020, [cidr('198.18.2.0/24')])]), empty, NOW);
    expect(d).toMatchObject({ outcome: 'PARTIAL', ruleId: 'web-range' });
    expect(d.rules).toEqual([rule(8000, 8010, '198.18.2.0/24')]);
    expect(d.narrowings).toHaveLength(1);
    expect(d.narrowings[0]).toMatchObject({
      field: 'ports',
      requested: 'tcp/7990-8020',
      granted: 'tcp/8000-8010',
      ruleId: 'web-range',
    });
  });

  it('names the deny rule that removed part of the sources on one port', () => {
    const d = engine.decide(web1, req([tcp(8000, 8010, [cidr('198.18.8.0/23')])]), empty, NOW);
    expect(d.outcome).toBe('PARTIAL');
    expect(d.rules).toEqual([
      rule(8000, 8004, '198.18.8.0/23'),
      rule(8006, 8010, '198.18.8.0/23'),
      rule(8005, 8005, '198.18.8.0/24'),
    ]);
    expect(d.narrowings).toHaveLength(1);
    expect(d.narrowings[0]).toMatchObject({
      field: 'sources',
      ruleId: 'no-8005-from-admins',
      reason: 'rule no-8005-from-admins denies sources 198.18.9.0/24',
    });
    expect(d.narrowings[0]?.granted).toBe('198.18.8.0/24 (on some ports or destinations also 198.18.9.0/24)');
  });

  it('clamps the TTL to the rule max_ttl and reports it only when more was asked', () => {
    const long = engine.decide(
      web1,
      req([tcp(5432, 5432, [cidr('198.18.1.0/24')])], { ttl: 7200 }),
      empty,
      NOW,
    );
    expect(long).toMatchObject({ outcome: 'PARTIAL', ruleId: 'web-db', ttlSeconds: 1800 });
    expect(long.narrowings).toEqual([
      {
        openingIndex: 0,
        field: 'ttl',
        requested: '2h',
        granted: '30m',
        ruleId: 'web-db',
        reason: 'requested ttl 2h exceeds the limit: rule web-db allows at most 30m',
      },
    ]);
    const short = engine.decide(
      web1,
      req([tcp(5432, 5432, [cidr('198.18.1.0/24')])], { ttl: 10 }),
      empty,
      NOW,
    );
    expect(short).toMatchObject({ outcome: 'GRANTED', ttlSeconds: 30, narrowings: [] }); // raised to min_ttl
    const bounded = engine.decide(
      web1,
      req([tcp(8000, 8000, [cidr('198.18.2.0/24')])], { ttl: 7200 }),
      empty,
      NOW,
    );
    expect(bounded).toMatchObject({ outcome: 'PARTIAL', ttlSeconds: 3600 });
    expect(bounded.narrowings[0]).toMatchObject({
      field: 'ttl',
      ruleId: 'web-range',
      reason: 'requested ttl 2h exceeds the limit: defaults.max_ttl is 1h',
    });
    const repl = engine.decide(
      db1,
      req([{ app: 'postgresql', sources: [{ kind: 'group', name: 'dbs' }], destinations: [] }], { ttl: 900 }),
      empty,
      NOW,
    );
    expect(repl).toMatchObject({ outcome: 'PARTIAL', ruleId: 'db-repl', ttlSeconds: 600 });
  });

  it('keeps what it can of several openings and reports the refused one as a narrowing', () => {
    const d = engine.decide(web1, req([tcp(5432, 5432, [cidr('198.18.1.0/24')]), tcp(23)]), empty, NOW);
    expect(d).toMatchObject({ outcome: 'PARTIAL', ruleId: 'web-db' });
    expect(d.openings.map((o) => [o.outcome, o.ruleId])).toEqual([
      ['GRANTED', 'web-db'],
      ['DENIED', 'no-telnet'],
    ]);
    expect(d.rules).toEqual([rule(5432, 5432, '198.18.1.0/24')]);
    expect(d.narrowings).toEqual([
      {
        openingIndex: 1,
        field: 'ports',
        requested: 'tcp/23',
        granted: 'none',
        ruleId: 'no-telnet',
        reason: 'rule no-telnet denies tcp/23 for web-1',
      },
    ]);
  });
});

describe('all_or_nothing', () => {
  it('denies instead of narrowing, naming the limiting rule and what would have been allowed', () => {
    const d = engine.decide(web1, req([tcp(5432, 5432, [cidr('198.18.0.0/16')])], { all: true }), empty, NOW);
    expect(d).toMatchObject({
      outcome: 'DENIED',
      ruleId: 'web-db',
      rules: [],
      ttlSeconds: 0,
      maxLifetimeSeconds: 0,
    });
    expect(d.reason).toBe('all_or_nothing: rule web-db allows tcp/5432 only from group replicas');
    expect(d.wouldAllow).toBe('tcp/5432 from 198.18.1.0/24 via rule web-db');
  });

  it('denies when one opening of several is refused, or the TTL would be cut', () => {
    const two = engine.decide(
      web1,
      req([tcp(5432, 5432, [cidr('198.18.1.0/24')]), tcp(23)], { all: true }),
      empty,
      NOW,
    );
    expect(two).toMatchObject({ outcome: 'DENIED', ruleId: 'no-telnet', rules: [] });
    expect(two.wouldAllow).toContain('tcp/5432 from 198.18.1.0/24 via rule web-db');
    const ttl = engine.decide(
      web1,
      req([tcp(5432, 5432, [cidr('198.18.1.0/24')])], { ttl: 7200, all: true }),
      empty,
      NOW,
    );
    expect(ttl).toMatchObject({ outcome: 'DENIED', ruleId: 'web-db' });
    expect(ttl.reason).toMatch(/^all_or_nothing: requested ttl 2h/);
  });
});

describe('PENDING', () => {
  it('answers PENDING with the proposed rules when a manual-approval rule decides', () => {
    const d = engine.decide(web1, req([tcp(9102, 9102, [cidr('198.18.9.0/24')])]), empty, NOW);
    expect(d).toMatchObject({ outcome: 'PENDING', ruleId: 'backup', narrowings: [], ttlSeconds: 300 });
    expect(d.rules).toEqual([rule(9102, 9102, '198.18.9.0/24')]);
    expect(d.reason).toBe('rule backup needs manual approval for tcp/9102 from 198.18.9.0/24 to 198.18.0.2');
  });

  it('is PENDING overall when one opening needs approval and the others are granted', () => {
    const d = engine.decide(
      web1,
      req([tcp(5432, 5432, [cidr('198.18.1.0/24')]), tcp(9102, 9102, [cidr('198.18.9.0/24')])]),
      empty,
      NOW,
    );
    expect(d).toMatchObject({ outcome: 'PENDING', ruleId: 'backup' });
    expect(d.rules).toEqual([rule(5432, 5432, '198.18.1.0/24'), rule(9102, 9102, '198.18.9.0/24')]);
  });

  it('proposes the narrowed request, or denies it under all_or_nothing', () => {
    const d = engine.decide(web1, req([tcp(9102)]), empty, NOW);
    expect(d).toMatchObject({ outcome: 'PENDING', ruleId: 'backup' });
    expect(d.narrowings.map((n) => n.field)).toEqual(['sources']);
    expect(engine.decide(web1, req([tcp(9102)], { all: true }), empty, NOW)).toMatchObject({
      outcome: 'DENIED',
      ruleId: 'backup',
    });
  });
});

describe('DENIED', () => {
  it('denies by default when no rule matches, with ruleId default-deny', () => {
    const d = engine.decide(web1, req([tcp(3306)]), empty, NOW);
    expect(d).toMatchObject({
      outcome: 'DENIED',
      ruleId: 'default-deny',
      wouldAllow: '',
      rules: [],
      ttlSeconds: 0,
    });
    expect(d.reason).toBe('no rule allows web-1 to open tcp/3306 from any to 198.18.0.2');
  });

  it('says what would have been allowed when only the sources are wrong', () => {
    const d = engine.decide(web1, req([tcp(5432, 5432, [cidr('10.0.0.0/8')])]), empty, NOW);
    expect(d).toMatchObject({
      outcome: 'DENIED',
      ruleId: 'default-deny',
      wouldAllow: 'tcp/5432 from group replicas via rule web-db',
    });
  });

  it('deny wins over an allow rule listed before it', () => {
    const d = engine.decide(web1, req([tcp(23)]), empty, NOW);
    expect(d).toMatchObject({
      outcome: 'DENIED',
      ruleId: 'no-telnet',
      reason: 'rule no-telnet denies tcp/23 for web-1',
      wouldAllow: '',
    });
    const trace = engine.explain(web1, req([tcp(23)]), empty, NOW).trace;
    expect(trace.find((t) => t.ruleId === 'web-telnet')).toMatchObject({
      verdict: 'skipped',
      reason: 'matches tcp/23 from any, but deny rules remove all of it',
    });
    expect(trace.find((t) => t.ruleId === 'no-telnet')).toMatchObject({ verdict: 'applies' });
  });

  it('ignores a rule whose expires date has passed', () => {
    expect(engine.decide(web1, req([tcp(6000)]), empty, NOW)).toMatchObject({
      outcome: 'DENIED',
      ruleId: 'default-deny',
    });
    expect(engine.decide(web1, req([tcp(6000)]), empty, Date.parse('2019-06-01T00:00:00Z'))).toMatchObject({
      outcome: 'GRANTED',
      ruleId: 'old-rule',
    });
  });

  it('refuses references policy cannot resolve as INVALID_ARGUMENT naming the field', () => {
    const badApp = (): unknown =>
      engine.decide(web1, req([{ app: 'no-such-app', sources: [], destinations: [] }]), empty, NOW);
    expect(badApp).toThrow(PinholeError);
    expect(badApp).toThrow('openings[0].app: unknown app "no-such-app"');
    const badGroup = (): unknown =>
      engine.decide(web1, req([tcp(5432, 5432, [{ kind: 'group', name: 'nope' }])]), empty, NOW);
    expect(badGroup).toThrow('openings[0].sources[0]: group "nope" is not defined in policy');
  });
});

describe('third-party destinations', () => {
  it('allows another host’s address only through a rule whose to: covers it', () => {
    expect(engine.thirdPartyAllowed(deploy1, '198.18.0.2', empty, NOW)).toBe(true);
    expect(engine.thirdPartyAllowed(deploy1, '198.18.1.10', empty, NOW)).toBe(false);
    expect(engine.thirdPartyAllowed(web1, '198.18.1.10', empty, NOW)).toBe(false);
    expect(engine.thirdPartyAllowed(web1, '198.18.0.2', empty, NOW)).toBe(true); // its own
    const d = engine.decide(
      deploy1,
      req([{ app: 'ssh', sources: [cidr('198.18.9.0/24')], destinations: ['198.18.0.2'] }]),
      empty,
      NOW,
    );
    expect(d).toMatchObject({ outcome: 'GRANTED', ruleId: 'deploy-ssh' });
    expect(d.rules).toEqual([
      { protocol: 'tcp', portFrom: 22, portTo: 22, sourceCidr: '198.18.9.0/24', destination: '198.18.0.2' },
    ]);
  });

  it('narrows away destinations no rule covers, and the rule does not open the requester itself', () => {
    const both = engine.decide(
      deploy1,
      req([{ app: 'ssh', sources: [cidr('198.18.9.0/24')], destinations: ['198.18.0.2', '198.18.1.10'] }]),
      empty,
      NOW,
    );
    expect(both.outcome).toBe('PARTIAL');
    expect(both.narrowings[0]).toMatchObject({
      field: 'destinations',
      requested: '198.18.0.2, 198.18.1.10',
      granted: '198.18.0.2',
      ruleId: 'deploy-ssh',
    });
    const own = engine.decide(
      deploy1,
      req([{ app: 'ssh', sources: [cidr('198.18.9.0/24')], destinations: [] }]),
      empty,
      NOW,
    );
    expect(own).toMatchObject({ outcome: 'DENIED', ruleId: 'default-deny' });
  });
});
