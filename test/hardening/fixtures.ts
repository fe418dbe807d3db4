/** Shared requests and small statistics for the hardening suites. */
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { unaryCall } from '../helpers/pinhole.js';

/** web-1: https from anywhere (rule web-public), granted. */
export const webHttps = (requestId: string, ttlSeconds = 300): OpenRequest => ({
  requestId,
  openings: [{ app: 'https', sources: [{ any: true }] }],
  requestedTtlSeconds: ttlSeconds,
  description: 'hardening',
});

/** db-1: postgresql from the web tier (rule web-to-db), granted. */
export const dbPostgres = (requestId: string): OpenRequest => ({
  requestId,
  openings: [{ app: 'postgresql', sources: [{ group: 'web-tier' }] }],
  requestedTtlSeconds: 300,
});

/** db-1: the backup agent port needs an administrator (rule backup-agent): PENDING. */
export const dbBackup = (requestId: string): OpenRequest => ({
  requestId,
  openings: [{ app: 'bacula-fd', sources: [{ group: 'backup-servers' }] }],
  requestedTtlSeconds: 300,
});

export const open = (c: OpeningClient, r: OpenRequest): Promise<OpenResponse__Output> =>
  unaryCall(c, c.Open, r);

/** The q-quantile (nearest rank) of samples. */
export function quantile(samples: readonly number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
