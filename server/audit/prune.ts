/**
 * Audit retention: what every store does before its prune transaction. The stores differ only
 * in that transaction (sqlite-store.ts, pg-store.ts, memory-store.ts `pruneAudit`); planning,
 * checking and signing are here, outside it, because signing is asynchronous.
 *
 * A prune removes a prefix of the chain: from the first remaining record up to (not including)
 * the first record at or after the cutoff, at most `maxRecords` of them. Records are removed in
 * seq order, never by time alone, so the chain stays one unbroken suffix. Before anything is
 * signed the range is re-verified from the newest checkpoint: a prune must never launder a
 * tampered record by deleting it under a valid signature.
 */
import { PinholeError } from '../core/errors.js';
import { auditHash, GENESIS_HASH, type AuditInput, type AuditRecord } from './record.js';
import type { AuditPager } from './verify.js';
import type { AuditCheckpoint, CheckpointClaims, CheckpointSigner } from './checkpoint.js';

export interface PruneRequest {
  /** Remove records older than this, ms since 1970. */
  readonly beforeMs: number;
  /** Who prunes, recorded and signed: `server` or `cli/<user>@<host>`. */
  readonly by: string;
  /** Peer address for the audit-prune record ('' for the server itself). */
  readonly peer?: string;
  readonly sign: CheckpointSigner;
  /**
   * Most records removed in one transaction (default 50,000), so the write lock is held briefly;
   * call again for the rest (each call leaves its own checkpoint).
   */
  readonly maxRecords?: number;
  /** Default Date.now(). */
  readonly nowMs?: number;
}

export type PruneResult =
  | {
      readonly outcome: 'pruned';
      readonly checkpoint: CheckpointClaims;
      /** The audit-prune record appended in the same transaction. */
      readonly record: AuditRecord;
    }
  /** No record is older than the cutoff. */
  | { readonly outcome: 'nothing' }
  /** Another pruner (another server on the same database) pruned first; nothing was changed. */
  | { readonly outcome: 'superseded' };

export const DEFAULT_PRUNE_BATCH = 50_000;
const PAGE = 5_000;

/** Where a prune starts: the newest checkpoint, or the beginning of the log. */
export interface PruneBase {
  readonly seq: number;
  readonly hash: string;
}

export function pruneBase(newest: AuditCheckpoint | undefined): PruneBase {
  return newest === undefined ? { seq: 0, hash: GENESIS_HASH } : { seq: newest.seq, hash: newest.hash };
}

/** Refusals because the log does not verify: retrying cannot help (see isPruneRefusal). */
const refusals = new WeakSet<Error>();

function refused(seq: number, why: string): PinholeError {
  const error = new PinholeError(
    'FAILED_PRECONDITION',
    `audit prune refused: record ${seq} ${why}; pruning would destroy the evidence. Run \`pinhole audit verify\` and investigate before pruning`,
  );
  refusals.add(error);
  return error;
}

/**
 * Marks a refusal rebuilt from another thread's report (server/store/sqlite/worker-errors.ts):
 * the mark is this module's WeakSet, which a structured clone cannot carry.
 */
export function markPruneRefusal(error: Error): void {
  refusals.add(error);
}

/**
 * Whether `err` (or an error it wraps) is a prune refused because the log does not verify (a
 * record altered, missing or inserted): evidence of tampering, not a failure worth retrying.
 */
export function isPruneRefusal(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (refusals.has(e)) return true;
  }
  return false;
}

/**
 * Reads and re-verifies the records to remove; undefined when none is older than the cutoff.
 * Refuses when a record at or before `base` is still stored: the newest checkpoint says those were
 * pruned, so either a record was inserted or the checkpoint row is not genuine (it is not
 * verified here). Either way the prune's DELETE would remove records this plan never checked,
 * laundering them under a valid signature.
 */
export async function planPrune(
  page: AuditPager,
  base: PruneBase,
  request: PruneRequest,
): Promise<CheckpointClaims | undefined> {
  const max = request.maxRecords ?? DEFAULT_PRUNE_BATCH;
  if (!Number.isSafeInteger(max) || max < 1)
    throw new PinholeError('INVALID_ARGUMENT', `maxRecords: ${max} is not a positive whole number`);
  const [first] = await page(0, 1);
  if (first !== undefined && first.seq <= base.seq)
    throw refused(
      first.seq,
      `is still stored although the newest checkpoint (seq ${base.seq}) says it was pruned (a record was inserted, or the checkpoint row was forged)`,
    );
  let prevSeq = base.seq;
  let prevHash = base.hash;
  let oldest = Number.POSITIVE_INFINITY;
  let newest = Number.NEGATIVE_INFINITY;
  let count = 0;
  scan: for (;;) {
    const limit = Math.min(PAGE, max - count);
    const records = await page(prevSeq, limit);
    for (const r of records) {
      if (r.atMs >= request.beforeMs) break scan;
      if (r.seq !== prevSeq + 1) throw refused(prevSeq + 1, `is missing (the log jumps to ${r.seq})`);
      const { hash, ...rest } = r;
      if (r.prevHash !== prevHash) throw refused(r.seq, 'does not follow the record before it');
      if (auditHash(rest) !== hash) throw refused(r.seq, 'was altered');
      prevSeq = r.seq;
      prevHash = hash;
      oldest = Math.min(oldest, r.atMs);
      newest = Math.max(newest, r.atMs);
      if (++count >= max) break scan;
    }
    if (records.length < limit) break;
  }
  if (count === 0) return undefined;
  return {
    seq: prevSeq,
    hash: prevHash,
    firstSeq: base.seq + 1,
    firstPrevHash: base.hash,
    count,
    oldestAtMs: oldest,
    newestAtMs: newest,
    beforeMs: request.beforeMs,
    prunedAtMs: request.nowMs ?? Date.now(),
    by: request.by,
  };
}

/** A prune planned from the newest checkpoint and signed, ready for the store's transaction. */
export interface PlannedPrune {
  readonly base: PruneBase;
  readonly claims: CheckpointClaims;
  readonly jws: string;
}

/**
 * What every store does before its prune transaction: plan from the newest stored checkpoint,
 * re-verify the range and sign. Undefined when nothing is older than the cutoff. The store then
 * re-checks under its write lock that `base` is still the newest checkpoint.
 *
 * The plan reads the log page by page, outside the store's write lock, so another prune (a second
 * server on PostgreSQL, the CLI beside a server) can remove records under it: the plan then sees
 * a gap, or a record at or before its base. Before such a refusal is reported as evidence of
 * tampering, the newest checkpoint is read again; if it moved, the refusal was the other prune's
 * doing and this one is 'superseded' (the next round plans from the new checkpoint and checks
 * the rest).
 */
export async function planAndSign(
  newest: () => Promise<AuditCheckpoint | undefined>,
  page: AuditPager,
  request: PruneRequest,
): Promise<PlannedPrune | 'superseded' | undefined> {
  const base = pruneBase(await newest());
  let claims: CheckpointClaims | undefined;
  try {
    claims = await planPrune(page, base, request);
  } catch (error) {
    if (isPruneRefusal(error) && pruneBase(await newest()).seq !== base.seq) return 'superseded';
    throw error;
  }
  if (claims === undefined) return undefined;
  return { base, claims, jws: await request.sign(claims) };
}

/** The record of a prune, chained in the same transaction that removes the records. */
export function pruneRecordInput(claims: CheckpointClaims, request: PruneRequest): AuditInput {
  const { seq, hash, firstSeq, count, oldestAtMs, newestAtMs, beforeMs } = claims;
  return {
    atMs: claims.prunedAtMs,
    actor: claims.by,
    peer: request.peer ?? '',
    action: 'audit-prune',
    requestId: '',
    leaseId: '',
    outcome: 'OK',
    ruleId: '',
    detail: { checkpoint: { seq, hash, firstSeq, count, oldestAtMs, newestAtMs, beforeMs } },
  };
}
