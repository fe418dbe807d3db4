/**
 * Synthetic policies for benchmarks: `ruleCount` rules over a proportional number of groups and hosts,
 * built as plain data and compiled through the same path as a YAML file. Deterministic for a seed.
 *
 * Shape (chosen to look like a large estate, not to flatter the index): one group per 25 rules with
 * four hosts each; rules mostly per group on narrow port ranges, 1% for any requester, 0.5% wide ranges,
 * 10% deny, 5% manual approval; sources are groups, CIDRs, hosts and sometimes any.
 */
import type { OpenRequest, Source } from '../core/types.js';
import type { RequesterFacts } from './api.js';
import { compilePolicyData } from './compile.js';
import { NO_LOCATION } from './diagnostics.js';
import type { VersionedHostDirectory } from './groups.js';
import type { CompiledPolicy } from './model.js';

export interface SyntheticRequest {
  readonly requester: RequesterFacts;
  readonly request: OpenRequest;
}

export interface SyntheticPolicy {
  readonly policy: CompiledPolicy;
  /** The raw document (what a YAML file would hold), e.g. to write it out with `yaml.stringify`. */
  readonly document: Record<string, unknown>;
  readonly directory: VersionedHostDirectory;
  /** 1,000 requests from the policy's hosts: most ask for ports some rule covers. */
  readonly requests: readonly SyntheticRequest[];
}

/** mulberry32: tiny, fast, good enough for benchmark data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOSTS_PER_GROUP = 4;

export function buildSyntheticPolicy(ruleCount: number, seed: number): SyntheticPolicy {
  const rand = rng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const groupCount = Math.max(4, Math.ceil(ruleCount / 25));
  const groups: Record<string, unknown> = {};
  const addresses = new Map<string, string[]>();
  const hostsOf: string[][] = [];
  for (let g = 0; g < groupCount; g++) {
    groups[`g${g}`] =
      g % 10 === 0
        ? { hosts: [`g${g}-*`], cidrs: [`10.${g >> 8}.${g & 255}.128/25`] }
        : { hosts: [`g${g}-*`] };
    const names: string[] = [];
    for (let h = 0; h < HOSTS_PER_GROUP; h++) {
      const name = `g${g}-h${h}`;
      addresses.set(name, [`10.${g >> 8}.${g & 255}.${h + 1}`]);
      names.push(name);
    }
    hostsOf.push(names);
  }
  const source = (): string => {
    const pick = rand();
    if (pick < 0.4) return `g${int(0, groupCount - 1)}`;
    if (pick < 0.8) return `172.${16 + int(0, 15)}.${int(0, 255)}.0/24`;
    if (pick < 0.9) return `host:g${int(0, groupCount - 1)}-h${int(0, HOSTS_PER_GROUP - 1)}`;
    if (pick < 0.97) return `172.${16 + int(0, 15)}.0.0/16`;
    return 'any';
  };
  const rules: Record<string, unknown>[] = [];
  const rulePorts: { group: number; port: number; proto: string }[] = [];
  for (let k = 0; k < ruleCount; k++) {
    const group = int(0, groupCount - 1);
    const r = rand();
    const requesters =
      r < 0.01 ? ['any'] : r < 0.03 ? [`g${group}`, `g${int(0, groupCount - 1)}`] : [`g${group}`];
    const proto = rand() < 0.8 ? 'tcp' : 'udp';
    const port = int(1024, 60999);
    const wide = requesters[0] !== 'any' && rand() < 0.005;
    const open = wide
      ? [`${proto}/1024-65535`]
      : [`${proto}/${port}${rand() < 0.3 ? `-${port + int(1, 4)}` : ''}`];
    const deny = rand() < 0.1;
    const rule: Record<string, unknown> = {
      id: `r${k}`,
      requesters,
      open,
      from: [source(), ...(rand() < 0.3 ? [source()] : [])],
    };
    if (deny) rule['effect'] = 'deny';
    else {
      if (rand() < 0.05) rule['approval'] = 'manual';
      rule['max_ttl'] = ['5m', '10m', '30m', '1h'][int(0, 3)];
    }
    rules.push(rule);
    rulePorts.push({ group, port, proto });
  }
  const document = { defaults: { ttl: '5m', max_ttl: '1h' }, groups, rules };
  const result = compilePolicyData(document, `synthetic-${ruleCount}-${seed}`, NO_LOCATION, { nowMs: 0 });
  if (!result.ok) throw new Error(`synthetic policy did not compile: ${result.errors[0]?.message ?? '?'}`);

  const directory: VersionedHostDirectory = {
    revision: 1,
    addressesOf: (name) => addresses.get(name),
    hostNames: () => addresses.keys(),
  };
  const requests: SyntheticRequest[] = [];
  for (let n = 0; n < 1000; n++) {
    const hit = rulePorts[int(0, rulePorts.length - 1)];
    const useHit = hit !== undefined && rand() < 0.7;
    const group = useHit ? hit.group : int(0, groupCount - 1);
    const name = hostsOf[group]?.[int(0, HOSTS_PER_GROUP - 1)] ?? 'g0-h0';
    const port = useHit ? hit.port : int(1024, 60999);
    const protocol = useHit && hit.proto === 'udp' ? 'udp' : 'tcp';
    const s = rand();
    const sources: Source[] =
      s < 0.4
        ? [{ kind: 'cidr', cidr: `172.${16 + int(0, 15)}.${int(0, 255)}.0/24` }]
        : s < 0.7
          ? [{ kind: 'group', name: `g${int(0, groupCount - 1)}` }]
          : s < 0.8
            ? [{ kind: 'host', name: `g${int(0, groupCount - 1)}-h0` }]
            : [];
    requests.push({
      requester: { name, addresses: addresses.get(name) ?? [] },
      request: {
        requestId: `req-${n}`,
        openings: [{ ports: { protocol, from: port, to: port }, destinations: [], sources }],
        requestedTtlSeconds: rand() < 0.5 ? 0 : int(60, 7200),
        description: '',
        allOrNothing: rand() < 0.2,
      },
    });
  }
  return { policy: result.policy, document, directory, requests };
}
