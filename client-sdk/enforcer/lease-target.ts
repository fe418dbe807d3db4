/**
 * Validation of incoming leases into the form the nft enforcer works with: per lease, its end and its
 * distinct element keys. Everything is checked before any kernel or memory change, so a bad lease fails
 * the batch up front instead of half-way.
 */
import { ruleToKey, sameKey, type ElementKey } from './nft-keys.js';
import { isLeaseId, validateLeaseId } from './nft-ruleset.js';
import { EnforcerError } from './errors.js';
import type { EnforcerLease } from './types.js';

/**
 * Lease id -> end and keys (distinct by key text: duplicate rules of one lease collapse into one
 * element). An array, not a map: a lease has a few rules, and a 50k-lease batch makes 50k of these.
 */
export type Target = Map<string, { expiresAtMs: number; keys: readonly ElementKey[] }>;

/** Validates one lease into `target`; `at` names it in error paths (built only for an error). */
function addLease(target: Target, lease: EnforcerLease, at: () => string): void {
  if (!isLeaseId(lease.leaseId)) validateLeaseId(lease.leaseId, `${at()}.leaseId`);
  if (!Number.isFinite(lease.expiresAtMs))
    throw new EnforcerError(
      'INVALID_LEASE',
      `${at()}.expiresAtMs: ${lease.expiresAtMs} is not a time; use ms since the epoch`,
    );
  const rules = lease.rules;
  const first = rules[0];
  // One rule (most leases): an array of exactly one, not one grown by push (room for 17).
  if (rules.length === 1 && first !== undefined) {
    target.set(lease.leaseId, {
      expiresAtMs: lease.expiresAtMs,
      keys: [ruleToKey(first, () => `${at()}.rules[0]`)],
    });
    return;
  }
  const keys: ElementKey[] = [];
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r];
    if (rule === undefined) continue;
    const key = ruleToKey(rule, () => `${at()}.rules[${r}]`);
    // A later duplicate replaces the earlier one, as a map keyed by text would.
    let same = -1;
    for (let k = 0; k < keys.length; k++) {
      const other = keys[k];
      if (other !== undefined && sameKey(other, key)) same = k;
    }
    if (same < 0) keys.push(key);
    else keys[same] = key;
  }
  // Two upserts of one lease in a batch: the later one wins, as it would applied one after the other.
  target.set(lease.leaseId, { expiresAtMs: lease.expiresAtMs, keys });
}

/** Validates `leases` (id, expiry, every rule) into a `Target`, keyed by lease id. `field` prefixes error paths. */
export function leasesToTarget(leases: readonly EnforcerLease[], field: string): Target {
  const target: Target = new Map();
  let i = 0;
  // Error paths are built only for an error: this loop runs once per lease of a 50k-lease batch.
  const at = (): string => `${field}[${i}]`;
  for (; i < leases.length; i++) addLease(target, leases[i] as EnforcerLease, at);
  return target;
}

/** Validates a map of leases by id (each key must be its lease's id) into a `Target`. */
export function toTarget(leases: Iterable<readonly [string, EnforcerLease]>, field: string): Target {
  const target: Target = new Map();
  let i = -1;
  const at = (): string => `${field}[${i}]`;
  for (const [id, lease] of leases) {
    i++;
    if (id !== lease.leaseId) {
      // An id that cannot be a comment is reported first, as for any other lease.
      if (!isLeaseId(lease.leaseId)) validateLeaseId(lease.leaseId, `${at()}.leaseId`);
      throw new EnforcerError(
        'INVALID_LEASE',
        `${at()}: map key ${JSON.stringify(id)} differs from leaseId ${JSON.stringify(lease.leaseId)}`,
      );
    }
    addLease(target, lease, at);
  }
  return target;
}
