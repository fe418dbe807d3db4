/**
 * Requests written by people (CLI flags, policy test cases) -> OpenRequest, and a host directory made
 * of the policy's inventory, so `policy test` and `policy explain` need no server.
 */
import type { OpenRequest, OpeningSpec, Source } from '../core/types.js';
import type { HostDirectory, RequesterFacts } from './api.js';
import { parseDuration } from './durations.js';
import type { CompiledPolicy } from './model.js';
import { formatCidr, normalizeAddress, parseCidr } from './net.js';
import { looksLikePortSpec, parsePortSpec } from './ports.js';

export interface HumanRequest {
  /** `host/NAME` or `NAME`. */
  readonly as: string;
  /** The requester's certificate addresses; default: its inventory addresses. */
  readonly addresses?: readonly string[];
  /** One or more `PROTO/PORT[-PORT]` or app ids: one opening each. */
  readonly open: readonly string[];
  /** `any`, a CIDR, `group:NAME`, `host:NAME`, or a bare group name. Empty = any. */
  readonly from?: readonly string[];
  /** Destination addresses; default: the requester's own. */
  readonly to?: readonly string[];
  /** A duration (`10m`); default: policy default. */
  readonly ttl?: string;
  readonly allOrNothing?: boolean;
}

export interface BuiltRequest {
  readonly requester: RequesterFacts;
  readonly request: OpenRequest;
}

/** Throws Error with a message naming the bad field; callers print it. */
export function buildRequest(policy: CompiledPolicy, h: HumanRequest, requestId = 'cli'): BuiltRequest {
  const name = h.as.startsWith('host/') ? h.as.slice(5) : h.as;
  if (name === '' || name.includes('/'))
    throw new Error(`as: "${h.as}" is not a host identity; write host/NAME`);
  const given = h.addresses ?? policy.hosts.get(name)?.addresses ?? [];
  const addresses = given.map((a) => {
    const n = normalizeAddress(a);
    if (n === null) throw new Error(`addresses: "${a}" is not an IP address`);
    return n;
  });
  if (addresses.length === 0)
    throw new Error(
      `addresses: host ${name} has no addresses; give them (--address / addresses:) or add them to the inventory`,
    );
  const sources: Source[] = (h.from ?? []).map((s) => parseSource(policy, s));
  const destinations = (h.to ?? []).map((d) => {
    const n = normalizeAddress(d);
    if (n === null) throw new Error(`to: "${d}" is not an IP address`);
    return n;
  });
  if (h.open.length === 0) throw new Error('open: name at least one app or PROTO/PORT');
  const openings: OpeningSpec[] = h.open.map((spec) => {
    if (!looksLikePortSpec(spec)) {
      if (!policy.apps.has(spec))
        throw new Error(`open: app "${spec}" is not in the catalog; write PROTO/PORT or a catalog id`);
      return { app: spec, destinations, sources };
    }
    const r = parsePortSpec(spec);
    if (typeof r === 'string') throw new Error(`open: ${r}`);
    return { ports: r, destinations, sources };
  });
  let requestedTtlSeconds = 0;
  if (h.ttl !== undefined) {
    const d = parseDuration(h.ttl);
    if (typeof d === 'string') throw new Error(`ttl: ${d}`);
    requestedTtlSeconds = d;
  }
  return {
    requester: { name, addresses },
    request: {
      requestId,
      openings,
      requestedTtlSeconds,
      description: '',
      allOrNothing: h.allOrNothing ?? false,
    },
  };
}

export function parseSource(policy: CompiledPolicy, text: string): Source {
  const t = text.trim();
  if (t === 'any') return { kind: 'any' };
  if (t.startsWith('host:')) return { kind: 'host', name: t.slice(5) };
  if (t.startsWith('group:') || policy.groups.has(t)) {
    const name = t.startsWith('group:') ? t.slice(6) : t;
    if (!policy.groups.has(name)) throw new Error(`from: group "${name}" is not defined in the policy`);
    return { kind: 'group', name };
  }
  const c = parseCidr(t);
  if (c === null) throw new Error(`from: "${t}" is not any, a CIDR, group:NAME or host:NAME`);
  return { kind: 'cidr', cidr: formatCidr(c) };
}

/** The policy inventory's static addresses, plus the requester itself. */
export function inventoryDirectory(policy: CompiledPolicy, requester?: RequesterFacts): HostDirectory {
  const map = new Map<string, readonly string[]>();
  for (const [name, h] of policy.hosts) if (h.addresses.length > 0) map.set(name, h.addresses);
  if (requester !== undefined) map.set(requester.name, requester.addresses);
  return { addressesOf: (n) => map.get(n), hostNames: () => map.keys() };
}
