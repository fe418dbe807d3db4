/**
 * The reference semantics of a `Mutation` (store.ts), as a pure function: which mutations of a
 * batch succeed, the revision and lease stamps each gets, its events, its stored answer and its
 * chained audit records. The memory store applies a plan to maps; the PostgreSQL store computes
 * the plan under its meta-row lock and writes it in one statement. SQLite does the same steps
 * with savepoints (sqlite-store.ts `#apply`); the conformance suite holds all three to them.
 */
import { PinholeError } from '../../core/errors.js';
import type { Lease, OpenAnswer } from '../../core/types.js';
import { chainAudit, type AuditRecord } from '../../audit/record.js';
import type { CommitResult, Mutation, PendingRecord, StoredEvent } from '../store.js';

/** The counters a batch advances: the lease revision and the audit chain head. */
export interface ChainState {
  readonly revision: number;
  readonly auditSeq: number;
  readonly auditHash: string;
}

/** Committed state before the batch; the plan overlays the batch's own earlier writes. */
export interface PlanLookup {
  leaseRevision(id: string): number | undefined;
  hasAnswer(host: string, requestId: string): boolean;
}

export interface StoredAnswerRow {
  readonly host: string;
  readonly requestId: string;
  readonly requestHash: string;
  readonly answer: OpenAnswer;
}

/** Everything one successful mutation writes. */
export interface PlannedWrite {
  readonly result: CommitResult;
  /** In mutation order; an event's index within its revision is its position here. */
  readonly events: readonly StoredEvent[];
  readonly leases: readonly Lease[];
  readonly answer?: StoredAnswerRow;
  readonly pending?: PendingRecord;
  readonly audit: readonly AuditRecord[];
}

export type PlanOutcome =
  { readonly ok: true; readonly write: PlannedWrite } | { readonly ok: false; readonly error: PinholeError };

export interface BatchPlan {
  readonly outcomes: readonly PlanOutcome[];
  readonly end: ChainState;
}

const answerKey = (host: string, requestId: string): string => `${host}\u0000${requestId}`;

/** Plans `mutations` in order after `start`; a failed mutation changes nothing and consumes no revision. */
export function planBatch(mutations: readonly Mutation[], start: ChainState, lookup: PlanLookup): BatchPlan {
  const leaseRevisions = new Map<string, number>();
  const answers = new Set<string>();
  let state = start;
  const outcomes = mutations.map((m): PlanOutcome => {
    try {
      const { write, next } = planOne(m, state, {
        leaseRevision: (id) => leaseRevisions.get(id) ?? lookup.leaseRevision(id),
        hasAnswer: (host, requestId) =>
          answers.has(answerKey(host, requestId)) || lookup.hasAnswer(host, requestId),
      });
      for (const lease of write.leases) leaseRevisions.set(lease.id, lease.revision);
      if (write.answer !== undefined) answers.add(answerKey(write.answer.host, write.answer.requestId));
      state = next;
      return { ok: true, write };
    } catch (error) {
      if (error instanceof PinholeError) return { ok: false, error };
      throw error;
    }
  });
  return { outcomes, end: state };
}

function planOne(
  m: Mutation,
  state: ChainState,
  lookup: PlanLookup,
): { write: PlannedWrite; next: ChainState } {
  for (const e of m.expect ?? []) {
    const current = lookup.leaseRevision(e.leaseId);
    if (current === undefined) throw new PinholeError('NOT_FOUND', `lease ${e.leaseId} not found`);
    if (current !== e.revision) {
      throw new PinholeError('FAILED_PRECONDITION', `lease ${e.leaseId} changed concurrently; retry`, {
        retryAfterMs: 0,
      });
    }
  }
  const changes = m.leases ?? [];
  const revision = changes.length > 0 ? state.revision + 1 : 0;
  const leases: Lease[] = [];
  const events: StoredEvent[] = [];
  for (const change of changes) {
    if (change.kind === 'put') {
      const lease: Lease = { ...change.lease, revision };
      leases.push(lease);
      events.push({ revision, type: 'UPSERT', lease });
    } else {
      const lease: Lease = {
        ...change.lease,
        revision,
        state: 'ended',
        endReason: change.reason,
        ...(change.detail === undefined ? {} : { endDetail: change.detail }),
      };
      leases.push(lease);
      events.push({ revision, type: 'DELETE', lease, reason: change.reason });
    }
  }
  let answer: StoredAnswerRow | undefined;
  if (m.answer !== undefined) {
    const { host, requestId, requestHash } = m.answer;
    if (lookup.hasAnswer(host, requestId)) {
      throw new PinholeError('ALREADY_EXISTS', `request_id ${requestId} was already answered`);
    }
    const given = m.answer.answer;
    const stamped = given.lease === undefined ? undefined : leases.find((l) => l.id === given.lease?.id);
    answer = {
      host,
      requestId,
      requestHash,
      answer: stamped === undefined ? given : { ...given, lease: stamped },
    };
  }
  const audit: AuditRecord[] = [];
  let { auditSeq, auditHash } = state;
  for (const input of m.audit) {
    const record = chainAudit(input, auditSeq, auditHash);
    audit.push(record);
    auditSeq = record.seq;
    auditHash = record.hash;
  }
  const result: CommitResult =
    answer === undefined ? { revision, leases } : { revision, leases, answer: answer.answer };
  const write: PlannedWrite = {
    result,
    events,
    leases,
    audit,
    ...(answer === undefined ? {} : { answer }),
    ...(m.pending === undefined ? {} : { pending: m.pending }),
  };
  return { write, next: { revision: revision > 0 ? revision : state.revision, auditSeq, auditHash } };
}
