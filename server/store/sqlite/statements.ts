/** Prepared statements and row mapping for the SQLite store. Synchronous; the store wraps them. */
import type Database from 'better-sqlite3';
import type { EndReason, Lease, OpenAnswer } from '../../core/types.js';
import type { AuditRecord } from '../../audit/record.js';
import { auditRecordFromRow, checkpointFromRow, type AuditRow, type CheckpointRow } from '../../audit/row.js';
import type { AuditCheckpoint } from '../../audit/checkpoint.js';
import type {
  KnownHost,
  LeaseFilter,
  LiveLeaseKey,
  PendingRecord,
  StoredAnswer,
  StoredEvent,
} from '../store.js';

interface JsonRow {
  json: string;
}
interface EventRow {
  revision: number;
  type: 'UPSERT' | 'DELETE';
  reason: string | null;
  json: string;
}

const parseLease = (row: JsonRow): Lease => JSON.parse(row.json) as Lease;

export class SqliteStatements {
  readonly #db: Database.Database;
  readonly #putLease: Database.Statement;
  readonly #putEvent: Database.Statement;
  readonly #leaseRevision: Database.Statement<[string], { revision: number }>;
  readonly #getLease: Database.Statement<[string], JsonRow>;
  readonly #insertAnswer: Database.Statement;
  readonly #findAnswer: Database.Statement<[string, string], { request_hash: string; json: string }>;
  readonly #insertAudit: Database.Statement;
  readonly #writeMeta: Database.Statement;
  readonly #due: Database.Statement<[number, number], JsonRow>;
  readonly #liveKeys: Database.Statement<[], LiveLeaseKey>;
  readonly #eventsAfter: Database.Statement<[{ after: number; limit: number }], EventRow>;
  readonly #auditHead: Database.Statement<[], { seq: number; hash: string }>;
  readonly #newestCheckpoint: Database.Statement<[], CheckpointRow>;
  readonly #savepoint: Database.Statement<[]>;
  readonly #release: Database.Statement<[]>;
  readonly #rollbackTo: Database.Statement<[]>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#savepoint = db.prepare('SAVEPOINT m');
    this.#release = db.prepare('RELEASE m');
    this.#rollbackTo = db.prepare('ROLLBACK TO m');
    this.#putLease = db.prepare(
      `INSERT INTO leases (id, host, live, expires_at_ms, revision, json) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET host = excluded.host, live = excluded.live,
         expires_at_ms = excluded.expires_at_ms, revision = excluded.revision, json = excluded.json`,
    );
    this.#putEvent = db.prepare(
      'INSERT INTO events (revision, idx, type, reason, json) VALUES (?, ?, ?, ?, ?)',
    );
    this.#leaseRevision = db.prepare('SELECT revision FROM leases WHERE id = ?');
    this.#getLease = db.prepare('SELECT json FROM leases WHERE id = ?');
    this.#insertAnswer = db.prepare(
      'INSERT OR IGNORE INTO answers (host, request_id, request_hash, created_at_ms, json) VALUES (?, ?, ?, ?, ?)',
    );
    this.#findAnswer = db.prepare('SELECT request_hash, json FROM answers WHERE host = ? AND request_id = ?');
    this.#insertAudit = db.prepare(
      `INSERT INTO audit (seq, at_ms, actor, peer, action, request_id, lease_id, outcome, rule_id, detail, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#writeMeta = db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.#due = db.prepare(
      'SELECT json FROM leases WHERE live = 1 AND expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?',
    );
    this.#liveKeys = db.prepare('SELECT id, host FROM leases WHERE live = 1');
    // Pages hold whole revisions: up to the revision of the limit-th row, all of it. A page that
    // ended inside a revision would make a resume after its last revision skip the rest.
    this.#eventsAfter = db.prepare(
      `SELECT revision, type, reason, json FROM events
       WHERE revision > @after AND revision <= COALESCE(
         (SELECT revision FROM events WHERE revision > @after ORDER BY revision, idx LIMIT 1 OFFSET @limit - 1),
         9223372036854775807)
       ORDER BY revision, idx`,
    );
    this.#auditHead = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
    this.#newestCheckpoint = db.prepare('SELECT * FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
  }

  /** Savepoints isolate each mutation of a group commit; prepared once, as the statements are. */
  savepoint(): void {
    this.#savepoint.run();
  }
  releaseSavepoint(): void {
    this.#release.run();
  }
  /** Undoes the mutation since savepoint() and ends the savepoint. */
  rollbackToSavepoint(): void {
    this.#rollbackTo.run();
    this.#release.run();
  }

  readMeta(): Map<string, string> {
    const rows = this.#db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, r.value]));
  }
  writeMeta(key: string, value: string): void {
    this.#writeMeta.run(key, value);
  }
  /** The newest record, or after a prune that left none, the newest checkpoint; undefined for an empty log. */
  auditHead(): { seq: number; hash: string } | undefined {
    const head = this.#auditHead.get();
    if (head !== undefined) return head;
    const cp = this.newestCheckpoint();
    return cp === undefined ? undefined : { seq: cp.seq, hash: cp.hash };
  }

  /** `json` is `JSON.stringify(lease)`, passed in so the lease row and its event share one serialisation. */
  putLease(lease: Lease, json: string): void {
    const live = lease.state === 'ended' ? 0 : 1;
    this.#putLease.run(lease.id, lease.host, live, lease.expiresAtMs, lease.revision, json);
  }
  /** `leaseJson` is `JSON.stringify(event.lease)`. */
  putEvent(event: StoredEvent, idx: number, leaseJson: string): void {
    this.#putEvent.run(event.revision, idx, event.type, event.reason ?? null, leaseJson);
  }
  leaseRevision(id: string): number | undefined {
    return this.#leaseRevision.get(id)?.revision;
  }
  getLease(id: string): Lease | undefined {
    const row = this.#getLease.get(id);
    return row === undefined ? undefined : parseLease(row);
  }
  listLeases(filter: LeaseFilter): Lease[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.host !== undefined) {
      where.push('host = ?');
      args.push(filter.host);
    }
    // `+live`: an index on live (leases_live_expiry) must not win over the id order a page walks.
    if (filter.includeEnded !== true) where.push(filter.afterId === undefined ? 'live = 1' : '+live = 1');
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      args.push(filter.afterId);
    }
    const order = filter.afterId === undefined ? 'rowid' : 'id';
    const sql = `SELECT json FROM leases ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} LIMIT ?`;
    args.push(filter.limit ?? 1000);
    return (this.#db.prepare(sql).all(...args) as JsonRow[]).map(parseLease);
  }
  listLiveLeaseKeys(): LiveLeaseKey[] {
    return this.#liveKeys.all();
  }
  dueForExpiry(nowMs: number, limit: number): Lease[] {
    return this.#due.all(nowMs, limit).map(parseLease);
  }
  eventsAfter(after: number, limit: number): StoredEvent[] {
    return this.#eventsAfter.all({ after, limit }).map((row) => {
      const lease = JSON.parse(row.json) as Lease;
      return row.reason === null
        ? { revision: row.revision, type: row.type, lease }
        : { revision: row.revision, type: row.type, lease, reason: row.reason as EndReason };
    });
  }
  deleteEventsUpTo(revision: number): void {
    this.#db.prepare('DELETE FROM events WHERE revision <= ?').run(revision);
  }

  /**
   * false if an answer for (host, requestId) already exists. `leaseJson`, when given, is
   * `JSON.stringify(answer.lease)` as the lease row was written: spliced in rather than serialised
   * again (the answer's other fields are small; its lease, receipt included, is most of it).
   */
  insertAnswer(
    host: string,
    requestId: string,
    requestHash: string,
    answer: OpenAnswer,
    leaseJson?: string,
  ): boolean {
    const { lease, ...rest } = answer;
    const json =
      lease === undefined || leaseJson === undefined
        ? JSON.stringify(answer)
        : `${JSON.stringify(rest).slice(0, -1)},"lease":${leaseJson}}`;
    return this.#insertAnswer.run(host, requestId, requestHash, Date.now(), json).changes === 1;
  }
  findAnswer(host: string, requestId: string): StoredAnswer | undefined {
    const row = this.#findAnswer.get(host, requestId);
    return row === undefined
      ? undefined
      : { requestHash: row.request_hash, answer: JSON.parse(row.json) as OpenAnswer };
  }

  putPending(p: PendingRecord): void {
    this.#db
      .prepare(
        `INSERT INTO pending (id, host, state, expires_at_ms, json) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, expires_at_ms = excluded.expires_at_ms, json = excluded.json`,
      )
      .run(p.id, p.host, p.state, p.expiresAtMs, JSON.stringify(p));
  }
  getPending(id: string): PendingRecord | undefined {
    const row = this.#db.prepare('SELECT json FROM pending WHERE id = ?').get(id) as JsonRow | undefined;
    return row === undefined ? undefined : (JSON.parse(row.json) as PendingRecord);
  }
  listPending(state?: PendingRecord['state']): PendingRecord[] {
    const rows = (
      state === undefined
        ? this.#db.prepare('SELECT json FROM pending ORDER BY rowid').all()
        : this.#db.prepare('SELECT json FROM pending WHERE state = ? ORDER BY rowid').all(state)
    ) as JsonRow[];
    return rows.map((r) => JSON.parse(r.json) as PendingRecord);
  }

  upsertHost(h: KnownHost): void {
    this.#db
      .prepare(
        `INSERT INTO hosts (name, addresses, last_seen_ms) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET addresses = excluded.addresses, last_seen_ms = excluded.last_seen_ms`,
      )
      .run(h.name, JSON.stringify(h.addresses), h.lastSeenMs);
  }
  listHosts(): KnownHost[] {
    const rows = this.#db.prepare('SELECT name, addresses, last_seen_ms FROM hosts').all() as {
      name: string;
      addresses: string;
      last_seen_ms: number;
    }[];
    return rows.map((r) => ({
      name: r.name,
      addresses: JSON.parse(r.addresses) as string[],
      lastSeenMs: r.last_seen_ms,
    }));
  }

  /** `detailJson` is the detail as the record's hash covered it (chainAuditText); default its JSON. */
  insertAudit(r: AuditRecord, detailJson: string = JSON.stringify(r.detail)): void {
    this.#insertAudit.run(
      r.seq,
      r.atMs,
      r.actor,
      r.peer,
      r.action,
      r.requestId,
      r.leaseId,
      r.outcome,
      r.ruleId,
      detailJson,
      r.prevHash,
      r.hash,
    );
  }
  auditRecords(afterSeq: number, limit: number): AuditRecord[] {
    const rows = this.#db
      .prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(afterSeq, limit) as AuditRow[];
    return rows.map(auditRecordFromRow);
  }

  newestCheckpoint(): AuditCheckpoint | undefined {
    const row = this.#newestCheckpoint.get();
    return row === undefined ? undefined : checkpointFromRow(row);
  }
  auditCheckpoints(): AuditCheckpoint[] {
    const rows = this.#db.prepare('SELECT * FROM audit_checkpoints ORDER BY seq').all() as CheckpointRow[];
    return rows.map(checkpointFromRow);
  }
  auditHashAt(seq: number): string | undefined {
    const row = this.#db.prepare('SELECT hash FROM audit WHERE seq = ?').get(seq) as
      { hash: string } | undefined;
    return row?.hash;
  }
  /**
   * Removes records afterSeq+1..seq (the range planPrune verified, never anything before it) and
   * stores the checkpoint that replaces them (inside the caller's transaction).
   */
  pruneAuditThrough(afterSeq: number, cp: AuditCheckpoint): void {
    this.#db.prepare('DELETE FROM audit WHERE seq > ? AND seq <= ?').run(afterSeq, cp.seq);
    this.#db
      .prepare('INSERT INTO audit_checkpoints (seq, hash, count, pruned_at_ms, jws) VALUES (?, ?, ?, ?, ?)')
      .run(cp.seq, cp.hash, cp.count, cp.prunedAtMs, cp.jws);
  }
}
