import { describe, expect, it } from 'vitest';
import { LeaseState } from '../../client-sdk/agent/lease-state.js';
import type { Lease__Output } from '../../proto/gen/pinhole/v1/Lease.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';

const NOW = 1_800_000_000_000;

/** A live UPSERT of lease `id` ending at `expiresAtMs`; only the fields LeaseState reads are real. */
function upsert(revision: number, id: string, expiresAtMs: number, port = 5432): WatchEvent__Output {
  const lease = {
    id,
    expiresAtUnixMs: String(expiresAtMs),
    rules: [
      {
        protocol: 'TCP',
        portFrom: port,
        portTo: port,
        sourceCidr: '198.18.1.0/24',
        destination: '198.18.0.2',
      },
    ],
  } as unknown as Lease__Output; // the other fields are never read by toEnforcerLease
  return {
    type: 'UPSERT',
    revision: String(revision),
    lease,
    leaseId: id,
    snapshot: false,
    serverEpoch: 'e1',
  } as unknown as WatchEvent__Output; // `reason` is unused for UPSERT
}

describe('LeaseState renewals', () => {
  it('marks a renewal far from the lease end as renewed, anything else as changed', () => {
    const s = new LeaseState();
    expect(s.step(upsert(1, 'a', NOW + 60_000), NOW)).toBe('changed'); // new lease
    expect(s.step(upsert(2, 'a', NOW + 120_000), NOW)).toBe('renewed'); // same rules, later end
    expect(s.step(upsert(3, 'a', NOW + 120_000, 5433), NOW)).toBe('changed'); // rules changed
    expect(s.step(upsert(4, 'a', NOW + 60_000, 5433), NOW)).toBe('changed'); // end moved earlier
    // Less than the slack left before the current end: the renewal must not wait.
    expect(s.step(upsert(5, 'a', NOW + 120_000, 5433), NOW + 55_000)).toBe('changed');
    const batch = s.takeBatch();
    expect(batch?.upserts.map((l) => [l.leaseId, l.expiresAtMs])).toEqual([['a', NOW + 120_000]]);
  });
});
