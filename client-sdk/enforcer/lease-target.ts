/**
 * Validation of incoming leases into the form the nft enforcer works with: per lease, its end and its
 * distinct element keys. Everything is checked before any kernel or memory change, so a bad lease fails
 * the batch up front instead of half-way.
 */
import { ruleToKey, type ElementKey } from './nft-keys.js';
import { isLeaseId, validateLeaseId } from './nft-ruleset.js';
import { EnforcerError } from './errors.js';
import type { EnforcerLease } from './types.js';

/**
 * Lease id -> end and keys (distinct by key text: duplicate rules of one lease collapse into one
 * element). An array, not a map: a lease has a few rules, and a 50k-lease batch makes 50k of these.
 */
export type Target = Map<string, { expiresAtMs: number; keys: readonly ElementKey[] }>;

/** Validates `leases` (id, expiry, every rule) into a `Target`. `field` prefixes error paths. */
export function toTarget(leases: Iterable<readonly [string, EnforcerLease]>, field: string): Target {
  const target: Target = new Map();
  let i = -1;
  // Error paths are built only for an error: this loop runs once per lease of a 50k-lease batch.
  const at = (): string => `${field}[${i}]`;
  for (const [id, lease] of leases) {
    i++;
    if (!isLeaseId(lease.leaseId)) validateLeaseId(lease.leaseId, `${at()}.leaseId`);
    if (id !== lease.leaseId)
      throw new EnforcerError(
        'INVALID_LEASE',
        `${at()}: map key ${JSON.stringify(id)} differs from leaseId ${JSON.stringify(lease.leaseId)}`,
      );
    if (!Number.isFinite(lease.expiresAtMs))
      throw new EnforcerError(
        'INVALID_LEASE',
        `${at()}.expiresAtMs: ${lease.expiresAtMs} is not a time; use ms since the epoch`,
      );
    const keys: ElementKey[] = [];
    const rules = lease.rules;
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r];
      if (rule === undefined) continue;
      const key = ruleToKey(rule, () => `${at()}.rules[${r}]`);
      // A later duplicate replaces the earlier one, as a map keyed by text would.
      const same = keys.findIndex((k) => k.text === key.text);
      if (same < 0) keys.push(key);
      else keys[same] = key;
    }
    // Two upserts of one lease in a batch: the later one wins, as it would applied one after the other.
    target.set(id, { expiresAtMs: lease.expiresAtMs, keys });
  }
  return target;
}
