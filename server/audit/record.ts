/**
 * The request log's records: append-only and hash-chained (DESIGN.md §7). The store stamps
 * seq, prevHash and hash inside the same transaction as the change a record describes.
 */
import { hash } from 'node:crypto';

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
  /** A reloaded CRL revoked the certificate that asked for a lease or pending request, or its CA was removed. */
  | 'certificate-revoke'
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
  return canonicalAuditTextOf(r, r.seq, r.prevHash, JSON.stringify(r.detail));
}

/**
 * `canonicalAuditText` with the detail already serialised: the same text as stringifying the whole
 * array (JSON.stringify of an array joins its elements' JSON with commas), so a store that writes
 * `detailJson` to its detail column serialises the detail once for both the column and the hash.
 */
function canonicalAuditTextOf(
  r: Omit<AuditInput, 'detail'>,
  seq: number,
  prevHash: string,
  detailJson: string,
): string {
  const head = JSON.stringify([
    seq,
    prevHash,
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

/** SHA-256 in hex; the one-shot crypto.hash, which costs half of a createHash object per record. */
const sha256Hex = (text: string): string => hash('sha256', text, 'hex');

export function auditHash(r: Omit<AuditRecord, 'hash'>): string {
  return sha256Hex(canonicalAuditText(r));
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
  const seq = prevSeq + 1;
  const hash = sha256Hex(canonicalAuditTextOf(input, seq, prevHash, detailJson));
  return { record: { ...input, seq, prevHash, hash }, detailJson };
}
