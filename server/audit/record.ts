/**
 * The request log's records: append-only and hash-chained (DESIGN.md §7). The store stamps
 * seq, prevHash and hash inside the same transaction as the change a record describes.
 */
import { createHash } from 'node:crypto';

export type AuditAction =
  | 'open'
  | 'renew'
  | 'release'
  | 'expire'
  | 'revoke'
  | 'approve'
  | 'deny'
  /** A rate limit or quota refused a request; the first of a window, or a summary (server/limits/refusal-log.ts). */
  | 'limit-refused'
  | 'pending-expire'
  | 'policy-reload'
  | 'policy-revoke'
  | 'policy-shorten'
  | 'enforcer-status'
  | 'admin'
  /** Older records were pruned; `detail.checkpoint` names the signed checkpoint left in their place. */
  | 'audit-prune';

/** What a caller supplies; the store adds seq and the hashes. */
export interface AuditInput {
  readonly atMs: number;
  /** `role/name` of the caller, or `server`. */
  readonly actor: string;
  readonly peer: string;
  readonly action: AuditAction;
  readonly requestId: string;
  readonly leaseId: string;
  /** GRANTED, PARTIAL, PENDING, DENIED, OK, or an error code. */
  readonly outcome: string;
  readonly ruleId: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditInput {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The canonical text a record's hash covers: every field but the hash, in a fixed order. */
export function canonicalAuditText(r: Omit<AuditRecord, 'hash'>): string {
  return canonicalAuditTextOf(r, JSON.stringify(r.detail));
}

/**
 * `canonicalAuditText` with the detail already serialised: the same text as stringifying the whole
 * array (JSON.stringify of an array joins its elements' JSON with commas), so a store that writes
 * `detailJson` to its detail column serialises the detail once for both the column and the hash.
 */
function canonicalAuditTextOf(r: Omit<AuditRecord, 'hash' | 'detail'>, detailJson: string): string {
  const head = JSON.stringify([
    r.seq,
    r.prevHash,
    r.atMs,
    r.actor,
    r.peer,
    r.action,
    r.requestId,
    r.leaseId,
    r.outcome,
    r.ruleId,
  ]);
  return `${head.slice(0, -1)},${detailJson}]`;
}

export function auditHash(r: Omit<AuditRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalAuditText(r)).digest('hex');
}

/** Chains `input` after the record with `prevSeq`/`prevHash`. */
export function chainAudit(input: AuditInput, prevSeq: number, prevHash: string): AuditRecord {
  return chainAuditText(input, prevSeq, prevHash).record;
}

/** `chainAudit`, also returning the detail's JSON that the hash covered, for the store's detail column. */
export function chainAuditText(
  input: AuditInput,
  prevSeq: number,
  prevHash: string,
): { record: AuditRecord; detailJson: string } {
  const detailJson = JSON.stringify(input.detail);
  const unhashed = { ...input, seq: prevSeq + 1, prevHash };
  const hash = createHash('sha256').update(canonicalAuditTextOf(unhashed, detailJson)).digest('hex');
  return { record: { ...unhashed, hash }, detailJson };
}
