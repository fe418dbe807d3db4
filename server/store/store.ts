/**
 * The one storage interface. The lease engine never knows which backend it talks to
 * (sqlite is the embedded default; see DESIGN.md §8).
 */
import type { CertificateRef, EndReason, Lease, OpenAnswer, OpenRequest, Decision } from '../core/types.js';
import type { AuditInput, AuditRecord } from '../audit/record.js';
import type { AuditCheckpoint } from '../audit/checkpoint.js';
import type { PruneRequest, PruneResult } from '../audit/prune.js';

export type LeaseChange =
  | { readonly kind: 'put'; readonly lease: Lease }
  | { readonly kind: 'end'; readonly lease: Lease; readonly reason: EndReason; readonly detail?: string };

/** A pending (manual approval) request. */
export interface PendingRecord {
  readonly id: string;
  readonly host: string;
  readonly addresses: readonly string[];
  readonly request: OpenRequest;
  readonly decision: Decision;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
  readonly state: 'waiting' | 'approved' | 'denied' | 'expired';
  /** Set once decided: the final answer sent to WaitDecision streams. */
  readonly answer?: OpenAnswer;
  /** The certificate that asked; the lease an approval creates remembers it (Lease.openedBy). */
  readonly openedBy?: CertificateRef;
}

/**
 * One atomic change: leases, the idempotency answer, pending requests and the audit records
 * that describe them commit together or not at all.
 */
export interface Mutation {
  /** Each listed lease must still be at this revision, or the mutation fails with FAILED_PRECONDITION. */
  readonly expect?: readonly { readonly leaseId: string; readonly revision: number }[];
  readonly leases?: readonly LeaseChange[];
  /** Idempotency record; a second answer for the same (host, requestId) fails with ALREADY_EXISTS. */
  readonly answer?: {
    readonly host: string;
    readonly requestId: string;
    readonly requestHash: string;
    readonly answer: OpenAnswer;
  };
  readonly pending?: PendingRecord;
  readonly audit: readonly AuditInput[];
}

export interface CommitResult {
  /** The revision of this commit; every lease change in it carries it. 0 if nothing changed leases. */
  readonly revision: number;
  /** The changed leases, stamped with the revision, in mutation order. */
  readonly leases: readonly Lease[];
  /** The stored answer, with its lease stamped. */
  readonly answer?: OpenAnswer;
}

export interface StoredEvent {
  readonly revision: number;
  readonly type: 'UPSERT' | 'DELETE';
  readonly lease: Lease;
  readonly reason?: EndReason;
}

export interface StoredAnswer {
  readonly requestHash: string;
  readonly answer: OpenAnswer;
}

export interface LeaseFilter {
  readonly host?: string;
  readonly includeEnded?: boolean;
  /** Default 1,000. */
  readonly limit?: number;
  /**
   * Keyset cursor: only leases whose id sorts after this one, ordered by id; pass '' for the first
   * page and the last id of a page for the next. Absent: insertion order, as before. The order is
   * the backend's text order (bytes in SQLite, UTF-16 code units in memory, the database collation
   * in PostgreSQL), so a listing paged this way sees every lease that exists throughout it once.
   */
  readonly afterId?: string;
}

/** What counting live leases per host needs: no rules, receipt or JSON to parse. */
export interface LiveLeaseKey {
  readonly id: string;
  readonly host: string;
}

export interface KnownHost {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly lastSeenMs: number;
}

export interface Store {
  readonly kind: string;
  /** Changes only when lease state was lost (a new, empty store). */
  readonly epoch: string;
  /** File holding the audit chain head outside the store, if this backend writes one. */
  readonly chainHeadFile?: string;
  /** The latest committed revision. */
  readonly revision: number;
  /** Oldest revision whose events are still retained; a resume from before it needs a RESET. */
  readonly compactedRevision: number;

  commit(mutation: Mutation): Promise<CommitResult>;
  findAnswer(host: string, requestId: string): Promise<StoredAnswer | undefined>;
  getLease(id: string): Promise<Lease | undefined>;
  listLeases(filter: LeaseFilter): Promise<Lease[]>;
  /** Every live lease's id and host, in no particular order (server/limits/live-leases.ts). */
  listLiveLeaseKeys(): Promise<LiveLeaseKey[]>;
  /** Live leases whose term ended at or before nowMs, oldest first. */
  dueForExpiry(nowMs: number, limit: number): Promise<Lease[]>;
  /**
   * Events with revision > after, in order; 'compacted' if some were pruned. Whole revisions only:
   * a page holds at least `limit` events when there are that many, and runs past `limit` to finish
   * its last revision, so a reader that resumes after the page's last revision skips nothing.
   */
  eventsAfter(after: number, limit: number): Promise<StoredEvent[] | 'compacted'>;
  /** Called after every commit that changed leases, in revision order. */
  onCommit(listener: (events: readonly StoredEvent[]) => void): () => void;
  /**
   * Backends shared by several servers (postgres): resolves with `revision` once every revision
   * committed anywhere before the call has been delivered to onCommit here. `revision` lags other
   * servers' commits by a NOTIFY round trip, so a watcher resuming here from a revision it saw on
   * another server may be momentarily ahead; wait for this before calling that "ahead of the store".
   * Single-server backends omit it: their `revision` is never behind.
   */
  catchUp?(): Promise<number>;
  /**
   * Backends that can stop for good while the server runs (SQLite on its worker thread, when the
   * thread dies) call `listener` once when they do; every call fails with UNAVAILABLE from then
   * on. The server checks its health at once instead of at the next probe (server/ops). Backends
   * that cannot stop that way omit it.
   */
  onFailure?(listener: (error: Error) => void): () => void;

  getPending(id: string): Promise<PendingRecord | undefined>;
  listPending(state?: PendingRecord['state']): Promise<PendingRecord[]>;

  upsertHost(host: KnownHost): Promise<void>;
  listHosts(): Promise<KnownHost[]>;

  /** Audit records with seq > afterSeq, in seq order. After a prune the first one is the newest checkpoint's seq + 1. */
  auditRecords(filter: { readonly afterSeq?: number; readonly limit?: number }): Promise<AuditRecord[]>;

  /**
   * Audit retention (server/audit/prune.ts). Removes the oldest audit records older than
   * `request.beforeMs` (a prefix of the chain, at most `maxRecords`) and, in the same
   * transaction, stores the signed checkpoint that takes their place and appends an
   * `audit-prune` record to the chain, so the prune can be neither hidden nor undone unseen.
   * Refuses with FAILED_PRECONDITION when the records to remove do not verify. On a database
   * shared by several servers, concurrent prunes serialize: one wins, the others return
   * `superseded` having changed nothing.
   */
  pruneAudit(request: PruneRequest): Promise<PruneResult>;
  /** Every retention checkpoint, oldest first. Checkpoints are never removed. */
  auditCheckpoints(): Promise<AuditCheckpoint[]>;

  /** Stops taking work, flushes what was queued, closes. Idempotent. */
  close(): Promise<void>;
}
