/**
 * Versioned PostgreSQL schema. Every server runs `migrate` at start: one transaction under a
 * transaction-level advisory lock, so three servers starting together apply each migration once
 * and the others wait, then find it recorded in `schema_migrations`.
 */
import type { PoolClient } from 'pg';
import { GENESIS_HASH } from '../../audit/record.js';

export interface PgMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Arbitrary but fixed: the advisory lock key every Pinhole server migrates under ("pinhole" in ASCII). */
export const MIGRATION_LOCK_KEY = '31641120311045221'; // 0x70696e686f6c65

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
    -- One row: the epoch, the global lease revision and the audit chain head. Every commit locks it,
    -- which is what makes revisions gap-free and the audit log one chain across servers.
    CREATE TABLE meta (
      id integer PRIMARY KEY CHECK (id = 1),
      epoch text NOT NULL,
      revision bigint NOT NULL,
      compacted_revision bigint NOT NULL,
      audit_seq bigint NOT NULL,
      audit_hash text NOT NULL
    );
    INSERT INTO meta VALUES (1, gen_random_uuid()::text, 0, 0, 0, '${GENESIS_HASH}');
    CREATE TABLE leases (
      ord bigint GENERATED ALWAYS AS IDENTITY,
      id text PRIMARY KEY,
      host text NOT NULL,
      live boolean NOT NULL,
      expires_at_ms bigint NOT NULL,
      revision bigint NOT NULL,
      json text NOT NULL
    );
    CREATE INDEX leases_due ON leases (expires_at_ms) WHERE live;
    CREATE INDEX leases_order ON leases (ord);
    CREATE INDEX leases_host ON leases (host, ord);
    CREATE TABLE events (
      revision bigint NOT NULL,
      idx integer NOT NULL,
      type text NOT NULL,
      reason text,
      json text NOT NULL,
      PRIMARY KEY (revision, idx)
    );
    -- The idempotency record: the primary key is what makes a request id unique across servers.
    CREATE TABLE answers (
      host text NOT NULL,
      request_id text NOT NULL,
      request_hash text NOT NULL,
      created_at_ms bigint NOT NULL,
      json text NOT NULL,
      PRIMARY KEY (host, request_id)
    );
    CREATE TABLE pending (
      ord bigint GENERATED ALWAYS AS IDENTITY,
      id text PRIMARY KEY,
      host text NOT NULL,
      state text NOT NULL,
      expires_at_ms bigint NOT NULL,
      json text NOT NULL
    );
    CREATE INDEX pending_state ON pending (state, ord);
    CREATE TABLE hosts (name text PRIMARY KEY, addresses text NOT NULL, last_seen_ms bigint NOT NULL);
    -- detail is text, not jsonb: the hash covers JSON.stringify's key order, which jsonb would not keep.
    CREATE TABLE audit (
      seq bigint PRIMARY KEY,
      at_ms bigint NOT NULL,
      actor text NOT NULL,
      peer text NOT NULL,
      action text NOT NULL,
      request_id text NOT NULL,
      lease_id text NOT NULL,
      outcome text NOT NULL,
      rule_id text NOT NULL,
      detail text NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL
    );
    CREATE INDEX audit_lease ON audit (lease_id);
    CREATE INDEX audit_at ON audit (at_ms);
    `,
  },
  {
    version: 2,
    name: 'commit lock function',
    sql: `
    -- The first round trip of every commit (pg-commit.ts): lock the meta row, then read what the
    -- batch's preconditions and request ids depend on. A VOLATILE function takes a fresh snapshot
    -- per statement, so the reads after the lock see every transaction that held it before us;
    -- a single SELECT would read the other tables with the snapshot it took before waiting.
    CREATE FUNCTION pinhole_commit_lock(lease_ids text[], hosts text[], request_ids text[])
    RETURNS TABLE (kind text, k1 text, k2 text, n1 bigint, n2 bigint, n3 bigint, h text)
    LANGUAGE plpgsql VOLATILE AS $fn$
    BEGIN
      RETURN QUERY SELECT 'meta'::text, ''::text, ''::text, m.revision, m.audit_seq, m.compacted_revision, m.audit_hash
        FROM meta m WHERE m.id = 1 FOR NO KEY UPDATE;
      RETURN QUERY SELECT 'lease'::text, l.id, ''::text, l.revision, 0::bigint, 0::bigint, ''::text
        FROM leases l WHERE l.id = ANY (lease_ids);
      RETURN QUERY SELECT 'answer'::text, a.host, a.request_id, 0::bigint, 0::bigint, 0::bigint, ''::text
        FROM answers a JOIN unnest(hosts, request_ids) AS q (qh, qr) ON a.host = q.qh AND a.request_id = q.qr;
    END
    $fn$;
    `,
  },
  {
    version: 3,
    name: 'audit retention checkpoints',
    sql: `
    -- One row per prune, never removed: the signed checkpoint (server/audit/checkpoint.ts) that
    -- replaces the audit records up to and including seq. Written under the meta-row lock (pg-prune.ts).
    CREATE TABLE audit_checkpoints (
      seq bigint PRIMARY KEY,
      hash text NOT NULL,
      count bigint NOT NULL,
      pruned_at_ms bigint NOT NULL,
      jws text NOT NULL
    );
    `,
  },
];

/** Applies the migrations this database lacks. Idempotent; safe to run from several servers at once. */
export async function migrate(
  client: PoolClient,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<number[]> {
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const have = new Set(done.rows.map((r) => r.version));
    for (const m of migrations) {
      if (have.has(m.version)) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
