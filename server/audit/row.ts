/** The audit table's row, as every store and `pinhole audit verify` read it, and its record. */
import type { AuditRecord } from './record.js';
import type { AuditCheckpoint } from './checkpoint.js';

/** Column values; PostgreSQL returns int8 columns as strings. */
export interface AuditRow {
  seq: number | string;
  at_ms: number | string;
  actor: string;
  peer: string;
  action: string;
  request_id: string;
  lease_id: string;
  outcome: string;
  rule_id: string;
  detail: string;
  prev_hash: string;
  hash: string;
}

/**
 * A detail that is no longer JSON (tampering) is kept as text instead of failing the read: its
 * hash then fails to verify, so verification names the record.
 */
function parseDetail(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { unparseable: text };
  }
}

export function auditRecordFromRow(r: AuditRow): AuditRecord {
  return {
    seq: Number(r.seq),
    atMs: Number(r.at_ms),
    actor: r.actor,
    peer: r.peer,
    action: r.action as AuditRecord['action'],
    requestId: r.request_id,
    leaseId: r.lease_id,
    outcome: r.outcome,
    ruleId: r.rule_id,
    detail: parseDetail(r.detail),
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** A row of `audit_checkpoints`, in every store and for `pinhole audit verify`. */
export interface CheckpointRow {
  seq: number | string;
  hash: string;
  count: number | string;
  pruned_at_ms: number | string;
  jws: string;
}

export function checkpointFromRow(r: CheckpointRow): AuditCheckpoint {
  return {
    seq: Number(r.seq),
    hash: r.hash,
    count: Number(r.count),
    prunedAtMs: Number(r.pruned_at_ms),
    jws: r.jws,
  };
}
