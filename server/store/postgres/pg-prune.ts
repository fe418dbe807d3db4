/**
 * Audit retention on PostgreSQL: the prune transaction. It takes the meta-row lock every commit
 * takes (pg-commit.ts), so it is serialized with every server's commits (its audit-prune record
 * chains after the head they left) and with every other server's prune: two servers that plan
 * the same prune both sign, the first to get the lock commits, and the second, reading under the
 * lock, finds a newer checkpoint than the one it planned from and rolls back having done nothing.
 * The primary key of audit_checkpoints is the backstop for the same rule.
 */
import type { Pool, PoolClient } from 'pg';
import { chainAudit, type AuditInput, type AuditRecord } from '../../audit/record.js';
import { checkpointFromRow, type CheckpointRow } from '../../audit/row.js';
import type { AuditCheckpoint } from '../../audit/checkpoint.js';
import type { PruneBase } from '../../audit/prune.js';

export async function newestCheckpoint(db: Pool | PoolClient): Promise<AuditCheckpoint | undefined> {
  const { rows } = await db.query<CheckpointRow>('SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
  const row = rows[0];
  return row === undefined ? undefined : checkpointFromRow(row);
}

export async function auditCheckpoints(db: Pool): Promise<AuditCheckpoint[]> {
  const { rows } = await db.query<CheckpointRow>('SELECT * FROM audit_checkpoints ORDER BY seq');
  return rows.map(checkpointFromRow);
}

function isCheckpointConflict(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    'constraint' in error &&
    error.code === '23505' &&
    error.constraint === 'audit_checkpoints_pkey'
  );
}

/**
 * Removes records up to `cp.seq`, stores `cp`, appends `input` to the chain and advances the
 * chain head in meta, in one transaction. 'superseded' (rolled back) when another prune won.
 */
export async function applyPrune(
  client: PoolClient,
  base: PruneBase,
  cp: AuditCheckpoint,
  input: AuditInput,
): Promise<AuditRecord | 'superseded'> {
  let open = false;
  try {
    await client.query('BEGIN');
    open = true;
    const meta = await client.query<{ audit_seq: string; audit_hash: string }>(
      'SELECT audit_seq, audit_hash FROM meta WHERE id = 1 FOR NO KEY UPDATE',
    );
    const head = meta.rows[0];
    if (head === undefined)
      throw new Error('the meta row is missing: the database was not migrated by Pinhole');
    // Read committed: each statement below sees every transaction that held the lock before us.
    const newest = await newestCheckpoint(client);
    const last = await client.query<{ hash: string }>('SELECT hash FROM audit WHERE seq = $1', [cp.seq]);
    if ((newest?.seq ?? 0) !== base.seq || last.rows[0]?.hash !== cp.hash) {
      await client.query('ROLLBACK');
      open = false;
      return 'superseded';
    }
    // Only the range planPrune verified: a record at or before the base was never checked.
    await client.query('DELETE FROM audit WHERE seq > $1 AND seq <= $2', [base.seq, cp.seq]);
    await client.query(
      'INSERT INTO audit_checkpoints (seq, hash, count, pruned_at_ms, jws) VALUES ($1, $2, $3, $4, $5)',
      [cp.seq, cp.hash, cp.count, cp.prunedAtMs, cp.jws],
    );
    const record = chainAudit(input, Number(head.audit_seq), head.audit_hash);
    await client.query(
      `INSERT INTO audit (seq, at_ms, actor, peer, action, request_id, lease_id, outcome, rule_id, detail, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        record.seq,
        record.atMs,
        record.actor,
        record.peer,
        record.action,
        record.requestId,
        record.leaseId,
        record.outcome,
        record.ruleId,
        JSON.stringify(record.detail),
        record.prevHash,
        record.hash,
      ],
    );
    await client.query('UPDATE meta SET audit_seq = $1, audit_hash = $2 WHERE id = 1', [
      record.seq,
      record.hash,
    ]);
    await client.query('COMMIT');
    open = false;
    return record;
  } catch (error) {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    if (isCheckpointConflict(error)) return 'superseded';
    throw error;
  }
}
