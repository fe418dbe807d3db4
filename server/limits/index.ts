/** Abuse limits for authenticated callers: per-identity rate limits and quotas. */
export { IdentityRateLimiter, type RateLimitOptions } from './rate-limiter.js';
export {
  HostQuotas,
  StreamQuota,
  type HeldKind,
  type HostQuotaOptions,
  type RefusalContext,
} from './quotas.js';
export {
  RefusalLog,
  REFUSAL_ACTION,
  type Refusal,
  type RefusalLogOptions,
  type RefusalSink,
} from './refusal-log.js';
export { RefusalHold, type RefusalHoldOptions } from './refusal-hold.js';
export { TokenBucket } from './token-bucket.js';
export { LiveLeaseCounter } from './live-leases.js';
