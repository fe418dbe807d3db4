/** The events an {@link Opening} emits, and what each carries. */
import type { PinholeClientError } from './errors.js';
import type { Decision, LeaseInfo, Narrowing } from './types.js';

/**
 * Where an opening is in its life:
 * - `pending`: an administrator must approve it (no lease yet);
 * - `open`: a lease is held and renewed;
 * - `lost`: the lease ended without the SDK's consent (its term ran out while the server was
 *   unreachable, or the server forgot it) and re-opening has not succeeded yet; the SDK keeps trying;
 * - `revoked`: an administrator or a policy change ended it; the SDK does not re-open (terminal);
 * - `denied`: the administrator denied the pending request (terminal);
 * - `closed`: `close()` released it (terminal).
 */
export type OpeningState = 'pending' | 'open' | 'lost' | 'revoked' | 'denied' | 'closed';

/** Why the SDK opened again with a new request id. */
export type ReopenReason =
  /** Renew answered NOT_FOUND: the server no longer knows the lease (ended, expired, or a restored store). */
  | 'not-found'
  /** The server's `server_epoch` changed: it lost its lease state (a new, empty store). */
  | 'new-epoch'
  /** The lease reached its max lifetime; policy is checked anew. */
  | 'max-lifetime'
  /** The term ran out while the server was unreachable (after a `lost` event). */
  | 'lost';

/** Payload of `renewed`. */
export interface RenewedEvent {
  /** The lease after the renewal. */
  readonly lease: LeaseInfo;
  /** When the previous term would have ended (server clock, ms). */
  readonly previousExpiresAtMs: number;
}

/** Payload of `narrowed`: the server now grants less than before (rules, ports or term). */
export interface NarrowedEvent {
  readonly lease: LeaseInfo;
  /** What shrank. For a shorter term on renewal the SDK adds a `ttl` narrowing itself. */
  readonly narrowings: readonly Narrowing[];
}

/** Payload of `revoked`. */
export interface RevokedEvent {
  readonly leaseId: string;
  /** `admin`: an administrator revoked it; `policy`: a policy change (or a re-open denied by policy) ended it. */
  readonly by: 'admin' | 'policy';
  /** The administrator's or the policy's reason, as the server gave it. */
  readonly reason: string;
}

/** Payload of `lost`. */
export interface LostEvent {
  readonly leaseId: string;
  /** The local time the SDK counted the lease as ended, ms. */
  readonly atMs: number;
  /** The last error seen while trying to keep it, if any. */
  readonly error?: PinholeClientError;
}

/** Payload of `reopened`. */
export interface ReopenedEvent {
  readonly why: ReopenReason;
  /** The lease that ended (or is about to, for `max-lifetime`). */
  readonly previousLeaseId: string;
  readonly lease: LeaseInfo;
  readonly decision: Decision;
}

/**
 * The event map of {@link Opening} (for `EventEmitter<OpeningEvents>`). `error` is emitted only
 * when a listener is attached, so an application without one is never crashed by a transient
 * renewal failure (the SDK keeps retrying and logs it either way).
 */
export interface OpeningEvents {
  renewed: [RenewedEvent];
  narrowed: [NarrowedEvent];
  revoked: [RevokedEvent];
  lost: [LostEvent];
  reopened: [ReopenedEvent];
  error: [PinholeClientError];
  closed: [];
}

/** Options of {@link Opening.waitForDecision} and {@link Opening.waitRealized}. */
export interface WaitOptions {
  /** Give up after this long, ms. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** How holding a lease ended. Internal. */
export type HoldEnd =
  | { readonly kind: 'reopen'; readonly why: ReopenReason }
  | { readonly kind: 'lost'; readonly error?: PinholeClientError }
  | { readonly kind: 'revoked'; readonly by: 'admin' | 'policy'; readonly reason: string };
