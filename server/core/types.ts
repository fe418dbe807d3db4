/**
 * Domain types shared by identity, policy, lease, store, watch and audit. Nothing here knows the wire:
 * server/rpc/codec.ts converts between these and the generated proto types.
 */

export type Role = 'host' | 'firewall' | 'admin' | 'server';

/** Who is calling, from the mTLS peer certificate. */
export interface Identity {
  readonly role: Role;
  /** The name from the SPIFFE URI SAN: spiffe://<trustDomain>/<role>/<name>. */
  readonly name: string;
  readonly trustDomain: string;
  /** Normalized addresses from the certificate's IP SANs (IPv4 dotted quad, IPv6 RFC 5952). */
  readonly addresses: readonly string[];
  /** SHA-256 fingerprint of the certificate, hex, for logs and audit. */
  readonly fingerprint: string;
  /** Certificate expiry, ms since epoch. */
  readonly notAfterMs: number;
}

/**
 * The client certificate a request came with, as a CRL entry names it: what a lease remembers of
 * the certificate that asked for it, so revoking that certificate (or removing its CA) ends it.
 */
export interface CertificateRef {
  /** Uppercase hex, no leading zeros. */
  readonly serial: string;
  /** The issuer's name in Node's X509Certificate form. */
  readonly issuer: string;
}

export type Protocol = 'tcp' | 'udp' | 'sctp';
export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp'];

/** Inclusive port range. */
export interface PortRange {
  readonly protocol: Protocol;
  readonly from: number;
  readonly to: number;
}

export type Source =
  | { readonly kind: 'cidr'; readonly cidr: string } // normalized ADDRESS/PREFIX
  | { readonly kind: 'group'; readonly name: string }
  | { readonly kind: 'host'; readonly name: string }
  | { readonly kind: 'any' };

/** One requested opening: exactly one of app/ports. */
export type OpeningSpec = {
  /** Requesting host's addresses it applies to; empty = all of the requester's own. Normalized. */
  readonly destinations: readonly string[];
  /** Empty = any (only where policy allows it). */
  readonly sources: readonly Source[];
} & (
  | { readonly app: string; readonly ports?: undefined }
  | { readonly ports: PortRange; readonly app?: undefined }
);

/** A validated Open request. */
export interface OpenRequest {
  readonly requestId: string;
  readonly openings: readonly OpeningSpec[];
  /** 0 = policy default. */
  readonly requestedTtlSeconds: number;
  readonly description: string;
  readonly allOrNothing: boolean;
}

export type Outcome = 'GRANTED' | 'PARTIAL' | 'PENDING' | 'DENIED';

/** A concrete rule an enforcer applies: from sourceCidr to destination on protocol/ports. */
export interface ConcreteRule {
  readonly protocol: Protocol;
  readonly portFrom: number;
  readonly portTo: number;
  /** Normalized ADDRESS/PREFIX. `0.0.0.0/0` or `::/0` for any. */
  readonly sourceCidr: string;
  /** One normalized address of the host (no prefix). Same family as sourceCidr. */
  readonly destination: string;
}

export type NarrowedField = 'sources' | 'ports' | 'destinations' | 'ttl';

export interface Narrowing {
  readonly openingIndex: number;
  readonly field: NarrowedField;
  readonly requested: string;
  readonly granted: string;
  readonly ruleId: string;
  readonly reason: string;
}

export interface OpeningDecision {
  readonly openingIndex: number;
  readonly outcome: Outcome;
  readonly ruleId: string;
  readonly reason: string;
}

/** What policy decided for a request. */
export interface Decision {
  readonly outcome: Outcome;
  /** The deciding rule id; `default-deny` when nothing matched. */
  readonly ruleId: string;
  /** One human sentence. */
  readonly reason: string;
  readonly narrowings: readonly Narrowing[];
  /** For DENIED: what would have been allowed ("" = nothing). */
  readonly wouldAllow: string;
  readonly openings: readonly OpeningDecision[];
  /** The concrete rules granted (GRANTED/PARTIAL) or proposed (PENDING). Empty for DENIED. */
  readonly rules: readonly ConcreteRule[];
  /** Granted term (clamped to [min, rule max_ttl]). 0 for DENIED. */
  readonly ttlSeconds: number;
  /** Renewals never extend past grantedAt + this. 0 for DENIED. */
  readonly maxLifetimeSeconds: number;
}

export type LeaseState = 'pending' | 'granted' | 'realized' | 'ended';
export type EndReason = 'released' | 'expired' | 'revoked' | 'policy';

export interface Lease {
  readonly id: string;
  readonly host: string;
  readonly requestId: string;
  readonly rules: readonly ConcreteRule[];
  readonly ttlSeconds: number;
  readonly grantedAtMs: number;
  readonly expiresAtMs: number;
  readonly maxLifetimeEndsAtMs: number;
  readonly renewedAtMs: number;
  /** Store revision of the last change to this lease. */
  readonly revision: number;
  readonly state: LeaseState;
  readonly ruleId: string;
  readonly description: string;
  readonly receipt: string;
  readonly endReason?: EndReason;
  /** Why it ended: the admin's reason for a revocation, the rule and reason for a policy end. */
  readonly endDetail?: string;
  /**
   * The certificate whose request opened it (or whose pending request an admin approved). Absent
   * on leases stored before servers recorded it, and on leases opened by in-process callers.
   */
  readonly openedBy?: CertificateRef;
}

/** The answer to an Open, stored for idempotency: a retry returns exactly this. */
export interface OpenAnswer {
  readonly decision: Decision;
  readonly lease?: Lease;
  readonly pendingId?: string;
  readonly serverEpoch: string;
}
