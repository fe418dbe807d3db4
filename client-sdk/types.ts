/**
 * The SDK's public data types (plain, frozen-shape objects; times in ms since the Unix epoch) and
 * their conversion from the generated wire types. Applications never handle proto types.
 */
import type { Decision__Output } from '../proto/gen/pinhole/v1/Decision.js';
import type { Lease__Output } from '../proto/gen/pinhole/v1/Lease.js';

/** Transport protocol of an opening. */
export type Protocol = 'tcp' | 'udp' | 'sctp';

/** The policy outcome of an Open request. */
export type Outcome = 'GRANTED' | 'PARTIAL' | 'PENDING' | 'DENIED';

/** One way the granted opening is smaller than the requested one. */
export interface Narrowing {
  /** Index into the request's openings (apps first, then ports, in the order given). */
  readonly openingIndex: number;
  /** `sources`, `ports`, `destinations` or `ttl`. */
  readonly field: string;
  /** What was asked, as text. */
  readonly requested: string;
  /** What was granted, as text (`''` = nothing). */
  readonly granted: string;
  /** The policy rule that narrowed it. */
  readonly ruleId: string;
  /** One human sentence. */
  readonly reason: string;
}

/** The decision on one opening of a request. */
export interface OpeningDecision {
  readonly openingIndex: number;
  readonly outcome: Outcome;
  readonly ruleId: string;
  readonly reason: string;
}

/** A policy decision: always names the deciding rule and gives a human reason. */
export interface Decision {
  readonly outcome: Outcome;
  /** The deciding rule id (`default-deny` when no rule matched). */
  readonly ruleId: string;
  /** One human sentence. */
  readonly reason: string;
  /** For PARTIAL: what was narrowed and why. */
  readonly narrowings: readonly Narrowing[];
  /** For DENIED: what policy would have allowed, if anything (`''` = nothing). */
  readonly wouldAllow: string;
  /** Per-opening outcomes. */
  readonly openings: readonly OpeningDecision[];
}

/** A concrete firewall rule of a lease: traffic from `sourceCidr` to `destination` on protocol/ports. */
export interface Rule {
  readonly protocol: Protocol;
  readonly portFrom: number;
  readonly portTo: number;
  /** ADDRESS/PREFIX. */
  readonly sourceCidr: string;
  /** One address of the host (no prefix). */
  readonly destination: string;
}

/**
 * Lease state: `granted` (committed on the server), `realized` (every firewall in scope reported
 * it applied), `ended` (released, expired or revoked), `pending` (waiting for approval).
 */
export type LeaseState = 'pending' | 'granted' | 'realized' | 'ended' | 'unknown';

/** Why a lease ended. */
export type EndReason = 'released' | 'expired' | 'revoked' | 'policy';

/** A granted opening with a lifetime, as the server last reported it. */
export interface LeaseInfo {
  /** Server-chosen id, e.g. `lse_...`. */
  readonly id: string;
  /** The identity name of the host that holds it. */
  readonly host: string;
  /** The Open request that created it. */
  readonly requestId: string;
  /** What firewalls apply. */
  readonly rules: readonly Rule[];
  /** The granted length of one term, seconds. */
  readonly ttlSeconds: number;
  readonly grantedAtMs: number;
  /** End of the current term unless renewed (server clock). */
  readonly expiresAtMs: number;
  /** Renewals never extend past this; the SDK opens again after it. */
  readonly maxLifetimeEndsAtMs: number;
  /** 0 = never renewed. */
  readonly renewedAtMs: number;
  /** Store revision of the last change (an int64, as a decimal string). */
  readonly revision: string;
  /** Changes only when the server lost its lease state. */
  readonly serverEpoch: string;
  readonly state: LeaseState;
  /** The policy rule that granted it. */
  readonly ruleId: string;
  readonly description: string;
  /** Compact JWS over the lease, verifiable offline (`''` if the server signs none). */
  readonly receipt: string;
  /** Set when `state` is `ended`. */
  readonly endReason?: EndReason;
  /** Why it ended (for revocations, the admin's or the policy's reason). */
  readonly endDetail?: string;
}

/** A minimal structured logger; a pino logger fits. The SDK logs nothing unless given one. */
export interface ClientLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A logger that drops everything. */
export const SILENT_LOGGER: ClientLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const OUTCOMES: ReadonlySet<string> = new Set<Outcome>(['GRANTED', 'PARTIAL', 'PENDING', 'DENIED']);

function outcomeOf(wire: string): Outcome {
  // OUTCOME_UNSPECIFIED from a server bug is treated as a refusal, never as a grant.
  return OUTCOMES.has(wire) ? (wire as Outcome) : 'DENIED';
}

const STATES: Readonly<Record<string, LeaseState>> = {
  LEASE_PENDING: 'pending',
  LEASE_GRANTED: 'granted',
  LEASE_REALIZED: 'realized',
  LEASE_ENDED: 'ended',
};

const END_REASONS: Readonly<Record<string, EndReason>> = {
  RELEASED: 'released',
  EXPIRED: 'expired',
  REVOKED: 'revoked',
  POLICY: 'policy',
};

/** Converts a wire decision (null = a server bug) into a {@link Decision}. */
export function decisionFromWire(d: Decision__Output | null): Decision {
  if (d === null)
    return {
      outcome: 'DENIED',
      ruleId: '',
      reason: 'the server sent no decision',
      narrowings: [],
      wouldAllow: '',
      openings: [],
    };
  return {
    outcome: outcomeOf(d.outcome),
    ruleId: d.ruleId,
    reason: d.reason,
    narrowings: d.narrowings.map((n) => ({
      openingIndex: n.openingIndex,
      field: n.field,
      requested: n.requested,
      granted: n.granted,
      ruleId: n.ruleId,
      reason: n.reason,
    })),
    wouldAllow: d.wouldAllow,
    openings: d.openings.map((o) => ({
      openingIndex: o.openingIndex,
      outcome: outcomeOf(o.outcome),
      ruleId: o.ruleId,
      reason: o.reason,
    })),
  };
}

/** Converts a wire lease into a {@link LeaseInfo}. */
export function leaseFromWire(l: Lease__Output): LeaseInfo {
  const endReason = END_REASONS[l.endReason];
  return {
    id: l.id,
    host: l.host,
    requestId: l.requestId,
    rules: l.rules.map((r) => ({
      protocol: r.protocol === 'UDP' ? 'udp' : r.protocol === 'SCTP' ? 'sctp' : 'tcp',
      portFrom: r.portFrom,
      portTo: r.portTo,
      sourceCidr: r.sourceCidr,
      destination: r.destination,
    })),
    ttlSeconds: l.ttlSeconds,
    grantedAtMs: Number(l.grantedAtUnixMs),
    expiresAtMs: Number(l.expiresAtUnixMs),
    maxLifetimeEndsAtMs: Number(l.maxLifetimeEndsAtUnixMs),
    renewedAtMs: Number(l.renewedAtUnixMs),
    revision: l.revision,
    serverEpoch: l.serverEpoch,
    state: STATES[l.state] ?? 'unknown',
    ruleId: l.ruleId,
    description: l.description,
    receipt: l.receipt,
    ...(endReason === undefined ? {} : { endReason }),
    ...(l.endDetail === '' ? {} : { endDetail: l.endDetail }),
  };
}

/** `tcp/5432 from 198.18.1.0/24 to 198.18.0.2`, for logs and the CLI. */
export function describeRule(r: Rule): string {
  const ports = r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`;
  return `${r.protocol}/${ports} from ${r.sourceCidr} to ${r.destination}`;
}
