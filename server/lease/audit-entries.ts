/** Builds the request-log records the lease engine and approval desk commit with their changes. */
import type { AuditInput } from '../audit/record.js';
import type { PendingRecord } from '../store/store.js';
import type { Lease } from '../core/types.js';
import { actorOf, type Caller } from './caller.js';

export function callerAudit(
  caller: Caller,
  action: AuditInput['action'],
  atMs: number,
  f: Pick<AuditInput, 'requestId' | 'leaseId' | 'outcome' | 'ruleId' | 'detail'>,
): AuditInput {
  return { atMs, actor: actorOf(caller), peer: caller.peer, action, ...f };
}

export function serverAudit(
  action: AuditInput['action'],
  atMs: number,
  lease: Lease,
  why: string,
): AuditInput {
  return {
    atMs,
    actor: 'server',
    peer: '',
    action,
    requestId: lease.requestId,
    leaseId: lease.id,
    outcome: 'OK',
    ruleId: lease.ruleId,
    detail: { host: lease.host, reason: why },
  };
}

/** The request-log record of a pending request the server ended (expired, or its certificate revoked). */
export function serverDenial(
  action: AuditInput['action'],
  atMs: number,
  p: PendingRecord,
  leaseId: string,
  extra: Readonly<Record<string, unknown>>,
): AuditInput {
  return {
    atMs,
    actor: 'server',
    peer: '',
    action,
    requestId: p.request.requestId,
    leaseId,
    outcome: 'DENIED',
    ruleId: p.decision.ruleId,
    detail: { pendingId: p.id, host: p.host, ...extra },
  };
}
