/** Requester membership, renewal terms and enforcer scopes on test/fixtures/policy/decide.yaml. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConcreteRule, Lease, OpenRequest, OpeningSpec } from '../../server/core/types.js';
import type { HostDirectory } from '../../server/policy/api.js';
import { PolicyEngine } from '../../server/policy/engine.js';
import { loadPolicyText } from '../../server/policy/loader.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/policy/decide.yaml');
const NOW = Date.parse('2026-03-01T12:00:00Z');

function engineFor(text: string): PolicyEngine {
  const r = loadPolicyText(text, 'scope.yaml', { nowMs: NOW });
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return new PolicyEngine(r.policy);
}
const engine = engineFor(readFileSync(FIXTURE, 'utf8'));
const empty: HostDirectory = { addressesOf: () => undefined, hostNames: () => [] };

function req(openings: OpeningSpec[]): OpenRequest {
  return { requestId: 'r1', openings, requestedTtlSeconds: 0, description: '', allOrNothing: false };
}
const rule = (
  portFrom: number,
  portTo: number,
  sourceCidr: string,
  destination = '198.18.0.2',
): ConcreteRule => ({
  protocol: 'tcp',
  portFrom,
  portTo,
  sourceCidr,
  destination,
});

describe('group membership of requesters', () => {
  const groups = engineFor(`
sites:
  dc1: [198.18.0.0/16]
  dr: [198.19.0.0/16]
hosts:
  mon-1: { labels: { role: monitoring }, site: dc1 }
  far-1: { site: dr }
groups:
  monitoring: { labels: { role: monitoring } }
  dr-hosts: { sites: [dr] }
  lab: { cidrs: [10.9.0.0/16] }
  everyone: { groups: [monitoring, dr-hosts, lab] }
rules:
  - id: everyone-ssh
    requesters: [everyone]
    open: [ssh]
    from: [dr-hosts]
`);
  const ssh = req([{ app: 'ssh', sources: [{ kind: 'group', name: 'dr-hosts' }], destinations: [] }]);
  const decide = (name: string, addresses: string[]): string =>
    groups.decide({ name, addresses }, ssh, empty, NOW).outcome;

  it('counts inventory labels, inventory sites and addresses (all inside) through nested groups', () => {
    expect(decide('mon-1', ['198.18.8.10'])).toBe('GRANTED'); // label, via nested monitoring
    expect(decide('far-1', ['203.0.113.9'])).toBe('GRANTED'); // inventory site dr
    expect(decide('lab-7', ['10.9.1.1'])).toBe('GRANTED'); // every address inside lab
    expect(decide('lab-8', ['10.9.1.1', '2001:db8::1'])).toBe('DENIED'); // straddles lab's boundary
    expect(decide('stranger', ['198.18.5.5'])).toBe('DENIED');
  });

  it('resolves a site group to the site CIDRs as a source', () => {
    const d = groups.decide({ name: 'mon-1', addresses: ['198.18.8.10'] }, ssh, empty, NOW);
    expect(d.rules).toEqual([
      { protocol: 'tcp', portFrom: 22, portTo: 22, sourceCidr: '198.19.0.0/16', destination: '198.18.8.10' },
    ]);
  });
});

describe('renewals and enforcer scopes', () => {
  const lease = { ruleId: 'web-db' } as unknown as Lease;
  it('clamps renewal terms to the rule and the defaults', () => {
    expect(engine.renewTtlSeconds('web-db', 7200, lease)).toBe(1800);
    expect(engine.renewTtlSeconds('web-db', 0, lease)).toBe(300);
    expect(engine.renewTtlSeconds('web-db', 5, lease)).toBe(30);
    expect(engine.renewTtlSeconds('removed-rule', 7200, lease)).toBe(3600);
  });

  it('answers enforcer scopes from enforcers:', () => {
    expect(engine.enforcerNames()).toEqual(['gw-1']);
    expect(engine.enforcerScope('gw-1')).toMatchObject({ all: true, hosts: [], groups: [], mode: 'gateway' });
    expect(engine.enforcerScope('nobody')).toBeUndefined();
    const webOnly = engineFor(`
groups:
  dbs: { hosts: ["db-*"], cidrs: [198.18.1.0/24] }
rules: []
enforcers:
  web-1: { watches: { hosts: [web-1] } }
  gw-db: { watches: { groups: [dbs] } }
`);
    const web = webOnly.enforcerScope('web-1');
    const gw = webOnly.enforcerScope('gw-db');
    expect(web).toMatchObject({ mode: 'host' });
    expect(gw).toMatchObject({ mode: 'gateway' });
    const r = [rule(5432, 5432, '198.18.1.0/24')];
    expect(webOnly.inScope(web!, 'web-1', r, empty)).toBe(true);
    expect(webOnly.inScope(web!, 'web-2', r, empty)).toBe(false);
    expect(webOnly.inScope(gw!, 'db-7', r, empty)).toBe(true); // a member by name
    expect(webOnly.inScope(gw!, 'web-1', r, empty)).toBe(false);
    expect(webOnly.inScope(gw!, 'deploy-1', [rule(22, 22, '198.18.9.0/24', '198.18.1.10')], empty)).toBe(
      true,
    ); // destination inside
  });
});
