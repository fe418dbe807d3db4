/** Lease fixtures for store and hub tests. */
import type { Lease, OpenAnswer } from '../../server/core/types.js';
import type { AuditInput } from '../../server/audit/record.js';

let n = 0;

export function leaseFixture(over: Partial<Lease> = {}): Lease {
  n++;
  const now = Date.now();
  return {
    id: `lse_test${n}`,
    host: 'web-1',
    requestId: `req-${n}`,
    rules: [
      {
        protocol: 'tcp',
        portFrom: 5432,
        portTo: 5432,
        sourceCidr: '198.18.1.0/24',
        destination: '198.18.0.2',
      },
    ],
    ttlSeconds: 60,
    grantedAtMs: now,
    expiresAtMs: now + 60_000,
    maxLifetimeEndsAtMs: now + 3_600_000,
    renewedAtMs: 0,
    revision: 0,
    state: 'granted',
    ruleId: 'test-rule',
    description: '',
    receipt: '',
    ...over,
  };
}

export function auditFixture(action: AuditInput['action'], leaseId = ''): AuditInput {
  return {
    atMs: Date.now(),
    actor: 'host/web-1',
    peer: '127.0.0.1:1',
    action,
    requestId: '',
    leaseId,
    outcome: 'OK',
    ruleId: 'test-rule',
    detail: {},
  };
}

/** A DENIED answer (default deny, nothing narrowed) as a store keeps it for idempotent retries. */
export function deniedAnswer(serverEpoch: string, ruleId = 'default-deny'): OpenAnswer {
  return {
    decision: {
      outcome: 'DENIED',
      ruleId,
      reason: 'r',
      narrowings: [],
      wouldAllow: '',
      openings: [],
      rules: [],
      ttlSeconds: 0,
      maxLifetimeSeconds: 0,
    },
    serverEpoch,
  };
}
