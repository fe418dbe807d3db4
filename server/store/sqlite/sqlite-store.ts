/**
 * The embedded default store: SQLite in WAL mode with synchronous=FULL, so a commit is on disk
 * before its promise resolves. Commits that arrive in the same event-loop turn share one
 * transaction (group commit): one fsync for many grants, each still its own revision, each
 * isolated by a savepoint so one failed precondition does not fail its neighbours.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { PinholeError, isPinholeError } from '../../core/errors.js';
import type { Lease, OpenAnswer } from '../../core/types.js';
import { chainAudit, chainAuditText, GENESIS_HASH, type AuditRecord } from '../../audit/record.js';
import { ChainHeadWriter } from '../../audit/verify.js';
import { checkpointRecord, type AuditCheckpoint } from '../../audit/checkpoint.js';
import {
  planAndSign,
  pruneBase,
  pruneRecordInput,
  type PruneRequest,
  type PruneResult,
} from '../../audit/prune.js';
import type {
  CommitResult,
  KnownHost,
  LeaseFilter,
  LiveLeaseKey,
  Mutation,
  PendingRecord,
  Store,
  StoredAnswer,
  StoredEvent,
} from '../store.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import { SqliteStatements } from './statements.js';
import { failpoint } from '../../failpoints.js';

export interface SqliteStoreOptions {
  /** Database file path; its directory is created if missing. */
  readonly path: string;
  /** How many revisions of events to keep for watch resumes. Default 100,000. */
  readonly retainRevisions?: number;
  /**
   * Where to write the audit chain head after each commit, outside the database, so that
   * removing the newest records is detectable. Default: `<path>.audit-head`.
   */
  readonly chainHeadFile?: string;
}

interface Queued {
  readonly mutation: Mutation;
  readonly resolve: (r: CommitResult) => void;
  readonly reject: (e: unknown) => void;
}

type Phase = 'open' | 'closing' | 'closed';

export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  readonly #sql: SqliteStatements;
  readonly #retain: number;
  readonly chainHeadFile: string;
  readonly #chainHead: ChainHeadWriter;
  readonly #listeners = new Set<(events: readonly StoredEvent[]) => void>();
  #queue: Queued[] = [];
  #flushScheduled = false;
  #phase: Phase = 'open';
  #epoch: string;
  #revision: number;
  #compacted: number;
  #auditSeq: number;
  #auditHash: string;

  private constructor(db: Database.Database, options: SqliteStoreOptions) {
    this.#db = db;
    this.#retain = options.retainRevisions ?? 100_000;
    this.chainHeadFile = options.chainHeadFile ?? `${options.path}.audit-head`;
    this.#chainHead = new ChainHeadWriter(this.chainHeadFile);
    this.#sql = new SqliteStatements(db);
    const meta = this.#sql.readMeta();
    this.#epoch = meta.get('epoch') ?? '';
    if (this.#epoch === '') {
      this.#epoch = randomUUID();
      this.#sql.writeMeta('epoch', this.#epoch);
      this.#sql.writeMeta('revision', '0');
      this.#sql.writeMeta('compacted_revision', '0');
    }
    this.#revision = Number(meta.get('revision') ?? '0');
    this.#compacted = Number(meta.get('compacted_revision') ?? '0');
    const head = this.#sql.auditHead();
    this.#auditSeq = head?.seq ?? 0;
    this.#auditHash = head?.hash ?? GENESIS_HASH;
  }

  /** Opens (creating and migrating if needed) the database at `options.path`. */
  static open(options: SqliteStoreOptions): SqliteStore {
    mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    const db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return new SqliteStore(db, options);
  }

  get epoch(): string {
    return this.#epoch;
  }
  get revision(): number {
    return this.#revision;
  }
  get compactedRevision(): number {
    return this.#compacted;
  }

  commit(mutation: Mutation): Promise<CommitResult> {
    if (this.#phase !== 'open') {
      return Promise.reject(
        new PinholeError('UNAVAILABLE', 'the store is shutting down; retry on another server', {
          retryAfterMs: 1000,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ mutation, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flush();
        });
      }
    });
  }

  /** Runs every queued mutation in one transaction. */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const outcomes: (
      { ok: true; result: CommitResult; events: StoredEvent[] } | { ok: false; error: unknown }
    )[] = [];
    const start = { revision: this.#revision, auditSeq: this.#auditSeq, auditHash: this.#auditHash };
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      // Under the write lock, the chain head as committed: `pinhole audit prune` may have appended
      // its record from another process since our last commit.
      const head = this.#sql.auditHead();
      if (head !== undefined) {
        this.#auditSeq = head.seq;
        this.#auditHash = head.hash;
      }
      for (const item of batch) {
        this.#sql.savepoint();
        const before = { revision: this.#revision, auditSeq: this.#auditSeq, auditHash: this.#auditHash };
        try {
          const applied = this.#apply(item.mutation);
          this.#sql.releaseSavepoint();
          outcomes.push({ ok: true, ...applied });
        } catch (error) {
          this.#sql.rollbackToSavepoint();
          this.#revision = before.revision;
          this.#auditSeq = before.auditSeq;
          this.#auditHash = before.auditHash;
          outcomes.push({
            ok: false,
            error: isPinholeError(error)
              ? error
              : new PinholeError(
                  'UNAVAILABLE',
                  'the store could not record this change; nothing was changed, retry later',
                  {
                    retryAfterMs: 1000,
                    cause: error,
                  },
                ),
          });
        }
      }
      this.#sql.writeMeta('revision', String(this.#revision));
      this.#compactIfDue();
      failpoint('before-commit');
      this.#db.exec('COMMIT');
    } catch (cause) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      this.#revision = start.revision;
      this.#auditSeq = start.auditSeq;
      this.#auditHash = start.auditHash;
      const error = new PinholeError(
        'UNAVAILABLE',
        'the store could not commit; nothing was changed, retry later',
        {
          retryAfterMs: 1000,
          cause,
        },
      );
      for (const item of batch) item.reject(error);
      return;
    }
    failpoint('after-commit');
    if (this.#auditSeq !== start.auditSeq) {
      try {
        this.#chainHead.write({ seq: this.#auditSeq, hash: this.#auditHash });
      } catch {
        // The database commit stands; a stale head file only weakens truncation detection.
      }
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) return;
      if (outcome.ok) {
        item.resolve(outcome.result);
        if (outcome.events.length > 0) this.#emit(outcome.events);
      } else {
        item.reject(outcome.error);
      }
    });
  }

  #apply(m: Mutation): { result: CommitResult; events: StoredEvent[] } {
    for (const e of m.expect ?? []) {
      const current = this.#sql.leaseRevision(e.leaseId);
      if (current === undefined) throw new PinholeError('NOT_FOUND', `lease ${e.leaseId} not found`);
      if (current !== e.revision) {
        throw new PinholeError('FAILED_PRECONDITION', `lease ${e.leaseId} changed concurrently; retry`, {
          retryAfterMs: 0,
        });
      }
    }
    const changes = m.leases ?? [];
    const revision = changes.length > 0 ? this.#revision + 1 : 0;
    if (revision > 0) this.#revision = revision;
    const stamped: Lease[] = [];
    const stampedJson: string[] = [];
    const events: StoredEvent[] = [];
    changes.forEach((change, idx) => {
      const lease: Lease =
        change.kind === 'put'
          ? { ...change.lease, revision }
          : {
              ...change.lease,
              revision,
              state: 'ended',
              endReason: change.reason,
              ...(change.detail === undefined ? {} : { endDetail: change.detail }),
            };
      // The lease row and its event hold the same JSON: serialised once for both (and the answer).
      const json = JSON.stringify(lease);
      this.#sql.putLease(lease, json);
      const event: StoredEvent =
        change.kind === 'put'
          ? { revision, type: 'UPSERT', lease }
          : { revision, type: 'DELETE', lease, reason: change.reason };
      this.#sql.putEvent(event, idx, json);
      stamped.push(lease);
      stampedJson.push(json);
      events.push(event);
    });
    let answer: OpenAnswer | undefined;
    if (m.answer !== undefined) {
      const given = m.answer.answer;
      const at = given.lease === undefined ? -1 : stamped.findIndex((l) => l.id === given.lease?.id);
      const lease = stamped[at];
      answer = lease === undefined ? given : { ...given, lease };
      const inserted = this.#sql.insertAnswer(
        m.answer.host,
        m.answer.requestId,
        m.answer.requestHash,
        answer,
        stampedJson[at],
      );
      if (!inserted) {
        throw new PinholeError('ALREADY_EXISTS', `request_id ${m.answer.requestId} was already answered`);
      }
    }
    if (m.pending !== undefined) this.#sql.putPending(m.pending);
    for (const input of m.audit) {
      const { record, detailJson } = chainAuditText(input, this.#auditSeq, this.#auditHash);
      this.#sql.insertAudit(record, detailJson);
      this.#auditSeq = record.seq;
      this.#auditHash = record.hash;
    }
    return {
      result: answer === undefined ? { revision, leases: stamped } : { revision, leases: stamped, answer },
      events,
    };
  }

  #compactIfDue(): void {
    const floor = this.#revision - this.#retain;
    // Compact in steps of 1% of retention so the delete stays small and rare.
    if (floor - this.#compacted < Math.max(1, Math.floor(this.#retain / 100))) return;
    this.#sql.deleteEventsUpTo(floor);
    this.#compacted = floor;
    this.#sql.writeMeta('compacted_revision', String(floor));
  }

  #emit(events: readonly StoredEvent[]): void {
    for (const listener of this.#listeners) listener(events);
  }

  onCommit(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  findAnswer(host: string, requestId: string): Promise<StoredAnswer | undefined> {
    return this.#read(() => this.#sql.findAnswer(host, requestId));
  }
  getLease(id: string): Promise<Lease | undefined> {
    return this.#read(() => this.#sql.getLease(id));
  }
  listLeases(filter: LeaseFilter): Promise<Lease[]> {
    return this.#read(() => this.#sql.listLeases(filter));
  }
  listLiveLeaseKeys(): Promise<LiveLeaseKey[]> {
    return this.#read(() => this.#sql.listLiveLeaseKeys());
  }
  dueForExpiry(nowMs: number, limit: number): Promise<Lease[]> {
    return this.#read(() => this.#sql.dueForExpiry(nowMs, limit));
  }
  eventsAfter(after: number, limit: number): Promise<StoredEvent[] | 'compacted'> {
    return this.#read(() => (after < this.#compacted ? 'compacted' : this.#sql.eventsAfter(after, limit)));
  }
  getPending(id: string): Promise<PendingRecord | undefined> {
    return this.#read(() => this.#sql.getPending(id));
  }
  listPending(state?: PendingRecord['state']): Promise<PendingRecord[]> {
    return this.#read(() => this.#sql.listPending(state));
  }
  upsertHost(host: KnownHost): Promise<void> {
    return this.#read(() => {
      this.#sql.upsertHost(host);
    });
  }
  listHosts(): Promise<KnownHost[]> {
    return this.#read(() => this.#sql.listHosts());
  }
  auditRecords(filter: { readonly afterSeq?: number; readonly limit?: number }): Promise<AuditRecord[]> {
    return this.#read(() => this.#sql.auditRecords(filter.afterSeq ?? 0, filter.limit ?? 1000));
  }

  auditCheckpoints(): Promise<AuditCheckpoint[]> {
    return this.#read(() => this.#sql.auditCheckpoints());
  }

  /**
   * Plans and signs outside the transaction (signing is asynchronous), then re-checks under the
   * write lock (BEGIN IMMEDIATE) that no other pruner (`pinhole audit prune` in another process)
   * moved the checkpoint or changed the range, and removes, records and chains in one transaction.
   */
  async pruneAudit(request: PruneRequest): Promise<PruneResult> {
    const planned = await planAndSign(
      () => this.#read(() => this.#sql.newestCheckpoint()),
      (afterSeq, limit) => this.auditRecords({ afterSeq, limit }),
      request,
    );
    if (planned === undefined) return { outcome: 'nothing' };
    if (planned === 'superseded') return { outcome: 'superseded' };
    const { base, claims, jws } = planned;
    if (this.#phase !== 'open')
      throw new PinholeError('UNAVAILABLE', 'the store is shutting down; nothing was pruned, retry later', {
        retryAfterMs: 1000,
      });
    let record: AuditRecord;
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      if (
        pruneBase(this.#sql.newestCheckpoint()).seq !== base.seq ||
        this.#sql.auditHashAt(claims.seq) !== claims.hash
      ) {
        this.#db.exec('ROLLBACK');
        return { outcome: 'superseded' };
      }
      this.#sql.pruneAuditThrough(base.seq, checkpointRecord(claims, jws));
      const head = this.#sql.auditHead() ?? { seq: claims.seq, hash: claims.hash };
      record = chainAudit(pruneRecordInput(claims, request), head.seq, head.hash);
      this.#sql.insertAudit(record);
      this.#db.exec('COMMIT');
    } catch (cause) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw new PinholeError(
        'UNAVAILABLE',
        'the store could not prune the request log; nothing was pruned, retry later',
        { retryAfterMs: 1000, cause },
      );
    }
    this.#auditSeq = record.seq;
    this.#auditHash = record.hash;
    try {
      this.#chainHead.write({ seq: record.seq, hash: record.hash });
    } catch {
      // As after a commit: a stale head file only weakens truncation detection.
    }
    return { outcome: 'pruned', checkpoint: claims, record };
  }

  /** Reads run synchronously; errors become UNAVAILABLE so callers see one kind of store failure. */
  #read<T>(fn: () => T): Promise<T> {
    if (this.#phase === 'closed') {
      return Promise.reject(
        new PinholeError('UNAVAILABLE', 'the store is closed; retry later or on another server', {
          retryAfterMs: 1000,
        }),
      );
    }
    try {
      return Promise.resolve(fn());
    } catch (cause) {
      return Promise.reject(
        new PinholeError('UNAVAILABLE', 'the store could not be read; retry later', {
          retryAfterMs: 1000,
          cause,
        }),
      );
    }
  }

  close(): Promise<void> {
    if (this.#phase !== 'open') return Promise.resolve();
    this.#phase = 'closing';
    this.#flush();
    this.#phase = 'closed';
    this.#listeners.clear();
    this.#db.close();
    this.#chainHead.close();
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Runs each pending migration in a transaction of its own that takes the write lock first and
 * reads `user_version` under it: a process that starts while another is migrating the same file
 * waits (busy_timeout), then sees how far the other came, and never runs a step twice (the step
 * that creates the tables would fail the second time).
 */
function migrate(db: Database.Database): void {
  const step = db.transaction((): boolean => {
    const version = Number(db.pragma('user_version', { simple: true }));
    const sql = SQLITE_MIGRATIONS[version];
    if (sql === undefined) return false;
    db.exec(sql);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate()) {
    // one step per transaction, until none is left
  }
}
