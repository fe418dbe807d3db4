/**
 * The policy evaluator the lease engine calls: a compiled policy plus its rule index and caches.
 * Immutable once built; a reload builds a new engine and PolicyStore swaps it in.
 */
import picomatch from 'picomatch';
import { invalid } from '../core/errors.js';
import type { ConcreteRule, Decision, Lease, OpenRequest } from '../core/types.js';
import type {
  EnforcerScope,
  HostDirectory,
  PolicyDefaults,
  PolicyEvaluator,
  Recheck,
  RequesterFacts,
} from './api.js';
import {
  analyzeIndexed,
  resolveOpening,
  ruleApplies,
  type EvalContext,
  type OpeningAnalysis,
  type OpeningInput,
} from './analyze.js';
import { assembleDecision } from './assemble.js';
import { explainRequest, type Explanation } from './explain.js';
import { GroupResolver, isVersioned, memberGroupsOf, type GroupSourceCache } from './groups.js';
import { judgeOpening } from './judge.js';
import type { CompiledEnforcer, CompiledPolicy, CompiledRule } from './model.js';
import { familySet, parseAddress, setContainsAddress, type Cidr } from './net.js';
import { recheckLease } from './recheck.js';
import { RuleIndex } from './rule-index.js';

const MEMBERSHIP_CACHE_MAX = 10_000;

export class PolicyEngine implements PolicyEvaluator {
  readonly policy: CompiledPolicy;
  readonly defaults: PolicyDefaults;
  readonly #index: RuleIndex;
  /** Allow rules whose `to` names something besides `self`: the only ones that permit third parties. */
  readonly #thirdPartyRules: readonly CompiledRule[];
  // Membership depends only on the policy and the requester's name and addresses: safe to cache for
  // the life of this engine. Bounded because requester names come from certificates.
  readonly #members = new Map<string, ReadonlySet<string>>();
  readonly #groupCaches = new WeakMap<HostDirectory, { revision: number; cache: GroupSourceCache }>();
  readonly #globs = new Map<string, (name: string) => boolean>();

  constructor(policy: CompiledPolicy) {
    this.policy = policy;
    this.defaults = policy.defaults;
    this.#index = new RuleIndex(policy.rules);
    this.#thirdPartyRules = policy.rules.filter(
      (r) => r.effect === 'allow' && r.to.some((t) => t.kind !== 'self'),
    );
  }

  memberGroups(hostName: string, self: readonly Cidr[]): ReadonlySet<string> {
    const key = `${hostName}|${self.map((c) => `${c.family}:${c.start}`).join(',')}`;
    let groups = this.#members.get(key);
    if (groups === undefined) {
      groups = memberGroupsOf(this.policy, hostName, self);
      if (this.#members.size >= MEMBERSHIP_CACHE_MAX) this.#members.clear();
      this.#members.set(key, groups);
    }
    return groups;
  }

  #resolver(directory: HostDirectory): GroupResolver {
    if (!isVersioned(directory)) return new GroupResolver(this.policy, directory);
    let entry = this.#groupCaches.get(directory);
    if (entry?.revision !== directory.revision) {
      entry = { revision: directory.revision, cache: new Map() };
      this.#groupCaches.set(directory, entry);
    }
    return new GroupResolver(this.policy, directory, entry.cache);
  }

  /** Everything a decision about this requester needs, built once per call. */
  context(requester: RequesterFacts, directory: HostDirectory, nowMs: number): EvalContext {
    const self: Cidr[] = [];
    for (const a of requester.addresses) {
      const c = parseAddress(a);
      if (c !== null) self.push(c);
    }
    const memberGroups = this.memberGroups(requester.name, self);
    return { policy: this.policy, requester, self, memberGroups, resolver: this.#resolver(directory), nowMs };
  }

  analyzeInput(ctx: EvalContext, input: OpeningInput): OpeningAnalysis {
    return analyzeIndexed(ctx, this.#index, RuleIndex.keysFor(ctx.requester.name, ctx.memberGroups), input);
  }

  analyze(ctx: EvalContext, request: OpenRequest): OpeningAnalysis[] {
    if (request.openings.length === 0) throw invalid('openings', 'no openings; ask for at least one');
    return request.openings.map((spec, i) => this.analyzeInput(ctx, resolveOpening(ctx, spec, i)));
  }

  decide(requester: RequesterFacts, request: OpenRequest, directory: HostDirectory, nowMs: number): Decision {
    const ctx = this.context(requester, directory, nowMs);
    const verdicts = this.analyze(ctx, request).map((a) => judgeOpening(ctx, a, request.allOrNothing));
    return assembleDecision(ctx, request, verdicts);
  }

  /** The decision plus a per-rule trace: for `pinhole policy explain` and the admin what-if. Pure. */
  explain(
    requester: RequesterFacts,
    request: OpenRequest,
    directory: HostDirectory,
    nowMs: number = Date.now(),
  ): Explanation {
    return explainRequest(this, requester, request, directory, nowMs);
  }

  renewTtlSeconds(ruleId: string, requestedTtlSeconds: number, _lease: Lease): number {
    const d = this.defaults;
    // A rule removed since the grant: recheck() decides whether the lease survives; if it does, another
    // rule allows it and the policy-wide bound applies.
    const ruleMax = this.policy.ruleById.get(ruleId)?.maxTtlSeconds ?? d.maxTtlSeconds;
    const cap = Math.min(d.maxTtlSeconds, ruleMax);
    const asked = requestedTtlSeconds > 0 ? requestedTtlSeconds : d.ttlSeconds;
    return Math.min(cap, Math.max(d.minTtlSeconds, asked));
  }

  recheck(lease: Lease, requester: RequesterFacts, directory: HostDirectory, nowMs: number): Recheck {
    return recheckLease(this, lease, this.context(requester, directory, nowMs));
  }

  enforcerNames(): readonly string[] {
    return [...this.policy.enforcers.keys()];
  }

  enforcerScope(firewallName: string): CompiledEnforcer | undefined {
    return this.policy.enforcers.get(firewallName);
  }

  #glob(pattern: string): (name: string) => boolean {
    let m = this.#globs.get(pattern);
    if (m === undefined) this.#globs.set(pattern, (m = picomatch(pattern)));
    return m;
  }

  inScope(
    scope: EnforcerScope,
    host: string,
    rules: readonly ConcreteRule[],
    directory: HostDirectory,
  ): boolean {
    if (scope.all) return true;
    if (scope.hosts.some((h) => this.#glob(h)(host))) return true;
    if (scope.groups.length === 0) return false;
    const resolver = this.#resolver(directory);
    const self = resolver.hostSources(host);
    const members = this.memberGroups(host, [...self.v4, ...self.v6]);
    if (scope.groups.some((g) => members.has(g))) return true;
    // A gateway watching a group also enforces leases whose destinations fall inside the group's addresses.
    return scope.groups.some((g) => {
      const sources = resolver.groupSources(g);
      return rules.some((r) => {
        const dest = parseAddress(r.destination);
        return dest !== null && setContainsAddress(familySet(sources, dest.family), dest);
      });
    });
  }

  /**
   * May `requester` open `destination`? Its own addresses always; another address only when an active
   * allow rule for this requester has a `to` covering it. The lease engine calls this before decide()
   * and answers PERMISSION_DENIED otherwise.
   */
  thirdPartyAllowed(
    requester: RequesterFacts,
    destination: string,
    directory: HostDirectory,
    nowMs: number = Date.now(),
  ): boolean {
    const dest = parseAddress(destination);
    if (dest === null) return false;
    const ctx = this.context(requester, directory, nowMs);
    if (ctx.self.some((c) => c.family === dest.family && c.start === dest.start)) return true;
    return this.#thirdPartyRules.some(
      (r) => ruleApplies(ctx, r) && ctx.resolver.covers(r.to, dest, ctx.self),
    );
  }
}

/** Build an evaluator from a compiled policy (see loadPolicyFile / loadPolicyText). */
export function createEvaluator(policy: CompiledPolicy): PolicyEngine {
  return new PolicyEngine(policy);
}
