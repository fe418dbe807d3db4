/**
 * What the lease engine and the server need from the policy engine. The engine itself
 * (model, loader, validation, indexed evaluator, explain) lives beside this file.
 */
import type { ConcreteRule, Decision, Lease, OpenRequest } from '../core/types.js';

/** What policy knows about a requester: its identity name and certificate addresses. */
export interface RequesterFacts {
  readonly name: string;
  readonly addresses: readonly string[];
}

/**
 * Hosts the server has seen (name -> certificate addresses). Policy uses it to turn
 * `host:` sources and host-glob groups into concrete addresses.
 */
export interface HostDirectory {
  addressesOf(hostName: string): readonly string[] | undefined;
  hostNames(): Iterable<string>;
}

/** Policy defaults, in seconds. */
export interface PolicyDefaults {
  readonly ttlSeconds: number;
  readonly minTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly maxLifetimeSeconds: number;
}

/** Result of re-checking a live lease against (new) policy. */
export type Recheck =
  | {
      readonly keep: true;
      /** new latest allowed expiry, if policy now allows less */ readonly maxExpiresAtMs?: number;
    }
  | { readonly keep: false; readonly ruleId: string; readonly reason: string };

/** The scope a firewall may watch, from policy `enforcers:`. */
export interface EnforcerScope {
  /** true = every lease (e.g. a core gateway). */
  readonly all: boolean;
  readonly hosts: readonly string[];
  readonly groups: readonly string[];
}

export interface PolicyEvaluator {
  readonly defaults: PolicyDefaults;
  /** Decide an Open request. Pure: no side effects. */
  decide(requester: RequesterFacts, request: OpenRequest, directory: HostDirectory, nowMs: number): Decision;
  /** Clamp a renewal term: the TTL a lease granted by `ruleId` may be renewed for. */
  renewTtlSeconds(ruleId: string, requestedTtlSeconds: number, lease: Lease): number;
  /** Re-check a live lease after a reload (or a rule's own expiry). */
  recheck(lease: Lease, requester: RequesterFacts, directory: HostDirectory, nowMs: number): Recheck;
  /** Names of every enforcer policy lists under `enforcers:`. */
  enforcerNames(): readonly string[];
  /** The scope of a firewall identity, or undefined if policy names no such enforcer. */
  enforcerScope(firewallName: string): EnforcerScope | undefined;
  /**
   * May `requester` open `destination`, an address that is not its own (THIRD_PARTY-style)?
   * Only a rule whose `to:` covers the address allows it.
   */
  thirdPartyAllowed(requester: RequesterFacts, destination: string, directory: HostDirectory): boolean;
  /** Does a lease of `host` with `rules` fall into `scope`? */
  inScope(
    scope: EnforcerScope,
    host: string,
    rules: readonly ConcreteRule[],
    directory: HostDirectory,
  ): boolean;
}
