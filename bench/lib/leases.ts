/**
 * Grants as the lease engine commits them (lease put + idempotency answer + audit record), built
 * without policy or RPC, for the store, fan-out and memory figures.
 */
import type { AuditInput } from '../../server/audit/record.js';
import type { Decision, Lease } from '../../server/core/types.js';
import type { Mutation } from '../../server/store/store.js';

/** A compact ES256 JWS is about this long for one rule (measured from ReceiptSigner). */
const RECEIPT = `eyJhbGciOiJFUzI1NiJ9.${'x'.repeat(470)}.${'y'.repeat(86)}`;

export function benchLease(n: number, o: { host?: string; ttlSeconds?: number; nowMs?: number } = {}): Lease {
  const now = o.nowMs ?? Date.now();
  const ttl = o.ttlSeconds ?? 600;
  return {
    id: `lse_bench${n.toString(36).padStart(8, '0')}`,
    host: o.host ?? 'web-1',
    requestId: `bench-${n}`,
    rules: [
      {
        protocol: 'tcp',
        portFrom: 443,
        portTo: 443,
        sourceCidr: `198.19.${(n >> 8) & 255}.${n & 255}/32`,
        destination: '198.18.0.2',
      },
    ],
    ttlSeconds: ttl,
    grantedAtMs: now,
    expiresAtMs: now + ttl * 1000,
    maxLifetimeEndsAtMs: now + 86_400_000,
    renewedAtMs: 0,
    revision: 0,
    state: 'granted',
    ruleId: 'web-public',
    description: 'bench',
    receipt: RECEIPT,
  };
}

function decisionFor(lease: Lease): Decision {
  return {
    outcome: 'GRANTED',
    ruleId: lease.ruleId,
    reason: 'web-public allows tcp/443 from any source for web-tier',
    narrowings: [],
    wouldAllow: '',
    openings: [{ openingIndex: 0, outcome: 'GRANTED', ruleId: lease.ruleId, reason: 'allowed' }],
    rules: lease.rules,
    ttlSeconds: lease.ttlSeconds,
    maxLifetimeSeconds: 86_400,
  };
}

function openAudit(lease: Lease): AuditInput {
  return {
    atMs: lease.grantedAtMs,
    actor: `host/${lease.host}`,
    peer: 'ipv4:127.0.0.1:40000',
    action: 'open',
    requestId: lease.requestId,
    leaseId: lease.id,
    outcome: 'GRANTED',
    ruleId: lease.ruleId,
    detail: {
      reason: 'web-public allows tcp/443 from any source for web-tier',
      openings: [{ ports: { protocol: 'tcp', from: 443, to: 443 }, destinations: [], sources: [] }],
      requestedTtlSeconds: lease.ttlSeconds,
      description: lease.description,
      rules: lease.rules,
      expiresAtMs: lease.expiresAtMs,
    },
  };
}

/** The mutation LeaseEngine.open commits for a grant. */
export function grantMutation(lease: Lease, serverEpoch: string): Mutation {
  return {
    leases: [{ kind: 'put', lease }],
    answer: {
      host: lease.host,
      requestId: lease.requestId,
      requestHash: 'f'.repeat(64),
      answer: { decision: decisionFor(lease), lease, serverEpoch },
    },
    audit: [openAudit(lease)],
  };
}

/** Bytes a grant writes as JSON text (lease row, event row, answer row, audit detail): the raw row size. */
export function grantBytes(lease: Lease, serverEpoch: string): number {
  const m = grantMutation(lease, serverEpoch);
  const lease1 = JSON.stringify(lease);
  return 2 * lease1.length + JSON.stringify(m.answer?.answer).length + JSON.stringify(m.audit).length;
}
