/**
 * Validation of incoming leases into the form the nft enforcer works with: per lease, its end and its
 * distinct element keys. Everything is checked before any kernel or memory change, so a bad lease fails
 * the batch up front instead of half-way.
 */
import { ruleToKey, type ElementKey } from './nft-keys.js';
import { validateLeaseId } from './nft-ruleset.js';
import { EnforcerError } from './errors.js';
import type { EnforcerLease } from './types.js';

/** Lease id -> end and keys (by key text; duplicate rules of one lease collapse into one element). */
export type Target = Map<string, { expiresAtMs: number; keys: Map<string, ElementKey> }>;

/** Validates `leases` (id, expiry, every rule) into a `Target`. `field` prefixes error paths. */
export function toTarget(leases: Iterable<readonly [string, EnforcerLease]>, field: string): Target {
  const target: Target = new Map();
  let i = 0;
  for (const [id, lease] of leases) {
    const at = `${field}[${i++}]`;
    validateLeaseId(lease.leaseId, `${at}.leaseId`);
    if (id !== lease.leaseId)
      throw new EnforcerError(
        'INVALID_LEASE',
        `${at}: map key ${JSON.stringify(id)} differs from leaseId ${JSON.stringify(lease.leaseId)}`,
      );
    if (!Number.isFinite(lease.expiresAtMs))
      throw new EnforcerError(
        'INVALID_LEASE',
        `${at}.expiresAtMs: ${lease.expiresAtMs} is not a time; use ms since the epoch`,
      );
    const keys = new Map<string, ElementKey>();
    lease.rules.forEach((rule, r) => {
      const key = ruleToKey(rule, `${at}.rules[${r}]`);
      keys.set(key.text, key);
    });
    // Two upserts of one lease in a batch: the later one wins, as it would applied one after the other.
    target.set(id, { expiresAtMs: lease.expiresAtMs, keys });
  }
  return target;
}
