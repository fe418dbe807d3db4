/**
 * Versioned SQLite schema. Each entry runs once, in order, inside a transaction; `user_version`
 * records how far a database has come, so migrations are idempotent across restarts.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
  CREATE TABLE leases (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    live INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    json TEXT NOT NULL
  ) STRICT;
  CREATE INDEX leases_live_expiry ON leases (live, expires_at_ms);
  CREATE INDEX leases_host ON leases (host, live);
  CREATE TABLE events (
    revision INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    type TEXT NOT NULL,
    reason TEXT,
    json TEXT NOT NULL,
    PRIMARY KEY (revision, idx)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE answers (
    host TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    json TEXT NOT NULL,
    PRIMARY KEY (host, request_id)
  ) STRICT, WITHOUT ROWID;
  CREATE TABLE pending (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    state TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    json TEXT NOT NULL
  ) STRICT;
  CREATE INDEX pending_state ON pending (state, expires_at_ms);
  CREATE TABLE hosts (name TEXT PRIMARY KEY, addresses TEXT NOT NULL, last_seen_ms INTEGER NOT NULL) STRICT;
  CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    peer TEXT NOT NULL,
    action TEXT NOT NULL,
    request_id TEXT NOT NULL,
    lease_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_lease ON audit (lease_id);
  CREATE INDEX audit_at ON audit (at_ms);
  `,
  // 2: audit retention. One row per prune, never removed: the signed checkpoint (server/audit/checkpoint.ts)
  // that replaces the records up to and including seq.
  `
  CREATE TABLE audit_checkpoints (
    seq INTEGER PRIMARY KEY,
    hash TEXT NOT NULL,
    count INTEGER NOT NULL,
    pruned_at_ms INTEGER NOT NULL,
    jws TEXT NOT NULL
  ) STRICT;
  `,
  // 3: events and answers become rowid tables keyed by a unique index. As WITHOUT ROWID tables
  // their rows (a lease's JSON, about 1 KB with its receipt) exceeded the ~1 KB a 4 KB index page
  // keeps inline, so every event and every answer took an overflow page of its own: most of the
  // pages each commit wrote to the WAL and fsync'd. A rowid table keeps rows of up to ~4 KB inline.
  `
  CREATE TABLE events_v3 (
    revision INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    type TEXT NOT NULL,
    reason TEXT,
    json TEXT NOT NULL
  ) STRICT;
  INSERT INTO events_v3 (revision, idx, type, reason, json)
    SELECT revision, idx, type, reason, json FROM events ORDER BY revision, idx;
  DROP TABLE events;
  ALTER TABLE events_v3 RENAME TO events;
  CREATE UNIQUE INDEX events_revision_idx ON events (revision, idx);
  CREATE TABLE answers_v3 (
    host TEXT NOT NULL,
    request_id TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    json TEXT NOT NULL
  ) STRICT;
  INSERT INTO answers_v3 (host, request_id, request_hash, created_at_ms, json)
    SELECT host, request_id, request_hash, created_at_ms, json FROM answers;
  DROP TABLE answers;
  ALTER TABLE answers_v3 RENAME TO answers;
  CREATE UNIQUE INDEX answers_host_request ON answers (host, request_id);
  `,
];
