/**
 * The compiled policy: what the loader produces from YAML once every reference is checked, and what the
 * evaluator reads. Plain frozen data; the rule index and caches live in the engine (engine.ts) so a
 * compiled policy can be built, compared and thrown away cheaply (tests, synthetic benches).
 */
import type { EnforcerScope, PolicyDefaults } from './api.js';
import type { Cidr, FamilySets } from './net.js';
import type { PortSet } from './ports.js';

/** One entry of a rule's `from` or `to`, or of a requested source after resolution. */
export type Term =
  | { readonly kind: 'any' }
  /** Only in `to`: the requester's own certificate addresses. */
  | { readonly kind: 'self' }
  | { readonly kind: 'cidr'; readonly cidr: Cidr }
  | { readonly kind: 'group'; readonly name: string }
  | { readonly kind: 'host'; readonly name: string };

export interface CompiledGroup {
  readonly name: string;
  /** picomatch globs over host names, compiled once. */
  readonly hostGlobs: readonly string[];
  readonly matchName: (hostName: string) => boolean;
  /** Every pair must equal the inventory host's label; empty = no label criterion. */
  readonly labels: Readonly<Record<string, string>>;
  /** Inventory sites whose hosts are members (by the host's `site:`) and whose CIDRs are sources. */
  readonly sites: readonly string[];
  /** The group's own CIDRs plus its sites' CIDRs. */
  readonly cidrs: FamilySets;
  /** Nested groups: members of these are members of this group. */
  readonly groups: readonly string[];
}

export interface InventoryHost {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly site?: string;
  /** Static addresses, used when the host directory has not seen the host's certificate. */
  readonly addresses: readonly string[];
}

export interface AppEntry {
  readonly id: string;
  readonly ports: PortSet;
  readonly description: string;
}

export type Effect = 'allow' | 'deny';
export type Approval = 'auto' | 'manual';

export interface CompiledRule {
  /** Position in the file: policy order, used for "first matching rule" tie-breaks. */
  readonly index: number;
  readonly id: string;
  readonly effect: Effect;
  readonly approval: Approval;
  readonly requesters: {
    readonly any: boolean;
    readonly hosts: ReadonlySet<string>;
    readonly groups: readonly string[];
  };
  readonly ports: PortSet;
  /** `open:` as written, for messages ("postgresql", "tcp/23"). */
  readonly openLabel: string;
  readonly from: readonly Term[];
  readonly fromLabel: string;
  readonly to: readonly Term[];
  readonly toLabel: string;
  readonly maxTtlSeconds?: number;
  readonly expiresAtMs?: number;
  readonly description: string;
}

export type EnforcerMode = 'host' | 'gateway';

export interface CompiledEnforcer extends EnforcerScope {
  readonly name: string;
  readonly mode: EnforcerMode;
}

export interface CompiledPolicy {
  readonly fileName: string;
  readonly defaults: PolicyDefaults;
  readonly sites: ReadonlyMap<string, FamilySets>;
  readonly hosts: ReadonlyMap<string, InventoryHost>;
  readonly groups: ReadonlyMap<string, CompiledGroup>;
  /** The default catalog merged with the policy's `apps:`. */
  readonly apps: ReadonlyMap<string, AppEntry>;
  readonly rules: readonly CompiledRule[];
  readonly ruleById: ReadonlyMap<string, CompiledRule>;
  readonly enforcers: ReadonlyMap<string, CompiledEnforcer>;
}

export const DEFAULT_RULE_ID = 'default-deny';

/** Built-in defaults, used for every key `defaults:` leaves out. */
export const BUILTIN_DEFAULTS: PolicyDefaults = {
  ttlSeconds: 300,
  minTtlSeconds: 30,
  maxTtlSeconds: 3600,
  maxLifetimeSeconds: 86_400,
};

export function isRuleActive(rule: CompiledRule, nowMs: number): boolean {
  return rule.expiresAtMs === undefined || nowMs < rule.expiresAtMs;
}
