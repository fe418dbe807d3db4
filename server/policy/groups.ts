/**
 * Group membership and source resolution.
 *
 * Two questions, answered differently on purpose:
 * - Is requester H a member of group G? Decided from facts the server trusts about H alone: its name
 *   (globs), its inventory labels and site, and its certificate addresses (every one inside G's CIDRs or
 *   sites). A host straddling G's address boundary is not a member by address: name it by glob or label.
 * - Which addresses does G stand for as a source or third-party destination? G's CIDRs, its sites'
 *   CIDRs, and the known addresses of every host that is a member by name, label or inventory site. This
 *   depends on the host directory (hosts enroll over time), so it is resolved per decision and cached
 *   per directory revision when the directory offers one (see VersionedHostDirectory).
 */
import type { HostDirectory } from './api.js';
import type { CompiledGroup, CompiledPolicy, Term } from './model.js';
import {
  anyCidr,
  EMPTY_SETS,
  familySet,
  longLivedSets,
  parseAddress,
  setContainsAddress,
  toFamilySets,
  unionFamilies,
  type Cidr,
  type FamilySets,
} from './net.js';

/**
 * A host directory that says when it changed. Optional: with it, group resolution is cached until the
 * revision moves; without it, groups are resolved again for every decision.
 */
export interface VersionedHostDirectory extends HostDirectory {
  readonly revision: number;
}

export function isVersioned(d: HostDirectory): d is VersionedHostDirectory {
  return typeof (d as Partial<VersionedHostDirectory>).revision === 'number';
}

export const ANY_SOURCES: FamilySets = { v4: [anyCidr(4)], v6: [anyCidr(6)] };

function labelsMatch(
  want: Readonly<Record<string, string>>,
  have: Readonly<Record<string, string>>,
): boolean {
  const keys = Object.keys(want);
  return keys.length > 0 && keys.every((k) => have[k] === want[k]);
}

/** Member by name, labels or inventory site: the criteria that pull known hosts' addresses into G. */
function directNameMember(policy: CompiledPolicy, g: CompiledGroup, hostName: string): boolean {
  if (g.matchName(hostName)) return true;
  const inv = policy.hosts.get(hostName);
  if (inv === undefined) return false;
  if (labelsMatch(g.labels, inv.labels)) return true;
  return inv.site !== undefined && g.sites.includes(inv.site);
}

function directAddressMember(g: CompiledGroup, addresses: readonly Cidr[]): boolean {
  if (addresses.length === 0) return false;
  return addresses.every((a) => setContainsAddress(familySet(g.cidrs, a.family), a));
}

/** The groups a requester belongs to, nested groups included. Independent of the host directory. */
export function memberGroupsOf(
  policy: CompiledPolicy,
  hostName: string,
  addresses: readonly Cidr[],
): ReadonlySet<string> {
  const memo = new Map<string, boolean>();
  const visit = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    memo.set(name, false); // cycles are rejected at load time; this only guards against a loop
    const g = policy.groups.get(name);
    const member =
      g !== undefined &&
      (directNameMember(policy, g, hostName) || directAddressMember(g, addresses) || g.groups.some(visit));
    memo.set(name, member);
    return member;
  };
  const out = new Set<string>();
  for (const name of policy.groups.keys()) if (visit(name)) out.add(name);
  return out;
}

/** Group name -> resolved sources, valid for one directory state. */
export type GroupSourceCache = Map<string, FamilySets>;

export class GroupResolver {
  readonly #policy: CompiledPolicy;
  readonly #directory: HostDirectory;
  readonly #groupCache: GroupSourceCache;
  readonly #termCache = new Map<readonly Term[], FamilySets>();
  #knownHosts: string[] | undefined;

  constructor(policy: CompiledPolicy, directory: HostDirectory, cache: GroupSourceCache = new Map()) {
    this.#policy = policy;
    this.#directory = directory;
    this.#groupCache = cache;
  }

  /** Certificate addresses if the server has seen the host, else the inventory's static ones. */
  addressesOf(hostName: string): readonly string[] {
    return this.#directory.addressesOf(hostName) ?? this.#policy.hosts.get(hostName)?.addresses ?? [];
  }

  hostSources(hostName: string): FamilySets {
    const cidrs: Cidr[] = [];
    for (const a of this.addressesOf(hostName)) {
      const c = parseAddress(a);
      if (c !== null) cidrs.push(c);
    }
    return toFamilySets(cidrs);
  }

  #hosts(): string[] {
    if (this.#knownHosts === undefined) {
      const names = new Set<string>(this.#directory.hostNames());
      for (const [name, inv] of this.#policy.hosts) if (inv.addresses.length > 0) names.add(name);
      this.#knownHosts = [...names];
    }
    return this.#knownHosts;
  }

  groupSources(name: string): FamilySets {
    const cached = this.#groupCache.get(name);
    if (cached !== undefined) return cached;
    this.#groupCache.set(name, EMPTY_SETS); // guard against (rejected) cycles
    const g = this.#policy.groups.get(name);
    if (g === undefined) return EMPTY_SETS;
    let out = g.cidrs;
    const hasNameCriteria = g.hostGlobs.length > 0 || Object.keys(g.labels).length > 0 || g.sites.length > 0;
    if (hasNameCriteria) {
      const extra: Cidr[] = [];
      for (const host of this.#hosts()) {
        if (!directNameMember(this.#policy, g, host)) continue;
        for (const a of this.addressesOf(host)) {
          const c = parseAddress(a);
          if (c !== null) extra.push(c);
        }
      }
      out = unionFamilies(out, toFamilySets(extra));
    }
    for (const nested of g.groups) out = unionFamilies(out, this.groupSources(nested));
    out = longLivedSets(out);
    this.#groupCache.set(name, out);
    return out;
  }

  termSources(term: Term, requesterAddresses: readonly Cidr[]): FamilySets {
    switch (term.kind) {
      case 'any':
        return ANY_SOURCES;
      case 'self':
        return toFamilySets(requesterAddresses);
      case 'cidr':
        return toFamilySets([term.cidr]);
      case 'group':
        return this.groupSources(term.name);
      case 'host':
        return this.hostSources(term.name);
    }
  }

  /** Union of a rule's `from` (or `to`) terms; memoized per term list for the life of this resolver. */
  termsSources(terms: readonly Term[], requesterAddresses: readonly Cidr[]): FamilySets {
    const selfDependent = terms.some((t) => t.kind === 'self');
    const cached = selfDependent ? undefined : this.#termCache.get(terms);
    if (cached !== undefined) return cached;
    let out: FamilySets = EMPTY_SETS;
    for (const t of terms) out = unionFamilies(out, this.termSources(t, requesterAddresses));
    if (!selfDependent) this.#termCache.set(terms, out);
    return out;
  }

  /** Does a rule's `to` cover this destination address for this requester? */
  covers(to: readonly Term[], destination: Cidr, requesterAddresses: readonly Cidr[]): boolean {
    for (const t of to) {
      switch (t.kind) {
        case 'any':
          return true;
        case 'self':
          if (
            requesterAddresses.some((a) => a.family === destination.family && a.start === destination.start)
          )
            return true;
          break;
        case 'cidr':
        case 'group':
        case 'host':
          if (
            setContainsAddress(
              familySet(this.termSources(t, requesterAddresses), destination.family),
              destination,
            )
          )
            return true;
          break;
      }
    }
    return false;
  }
}
