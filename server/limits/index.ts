/** Abuse limits for authenticated callers: per-identity rate limits and quotas. */
export { IdentityRateLimiter, type RateLimitOptions } from './rate-limiter.js';
export { HostQuotas, StreamQuota, type HeldKind, type HostQuotaOptions } from './quotas.js';
export { TokenBucket } from './token-bucket.js';
export { LiveLeaseCounter } from './live-leases.js';
