/**
 * An in-memory Store with the same semantics as the SQLite and PostgreSQL stores, for unit tests.
 * State lives in a `MemoryDatabase` object: open a second store on the same object after closing
 * the first and it "reopens" (same epoch, revision, chain head), as a file or a database would.
 * Nothing is durable beyond the process.
 */
import { randomUUID } from 'node:crypto';
import { PinholeError } from '../../core/errors.js';
import type { Lease } from '../../core/types.js';
import { chainAudit, GENESIS_HASH, type AuditRecord } from '../../audit/record.js';
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
import { planBatch, type ChainState } from './mutation-plan.js';

/** The state a memory store works on; create one with `new MemoryDatabase()` and pass it to `open`. */
export class MemoryDatabase {
  readonly epoch = randomUUID();
  chain: ChainState = { revision: 0, auditSeq: 0, auditHash: GENESIS_HASH };
  compactedRevision = 0;
  /** Insertion-ordered, like SQLite's rowid: an update keeps a lease's place. */
  readonly leases = new Map<string, Lease>();
  events: StoredEvent[] = [];
  readonly answers = new Map<string, StoredAnswer>();
  readonly pending = new Map<string, PendingRecord>();
  readonly hosts = new Map<string, KnownHost>();
  /** Seq order, gap-free from the newest checkpoint's seq + 1 (or 1). */
  audit: AuditRecord[] = [];
  readonly auditCheckpoints: AuditCheckpoint[] = [];
}

export interface MemoryStoreOptions {
  /** Default: a new, empty database. */
  readonly database?: MemoryDatabase;
  /** How many revisions of events to keep for watch resumes. Default 100,000. */
  readonly retainRevisions?: number;
}

interface Queued {
  readonly mutation: Mutation;
  readonly resolve: (r: CommitResult) => void;
  readonly reject: (e: unknown) => void;
}

const answerKey = (host: string, requestId: string): string => `${host}\u0000${requestId}`;
const clone = <T>(value: T): T => structuredClone(value);

export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly database: MemoryDatabase;
  readonly #retain: number;
  readonly #listeners = new Set<(events: readonly StoredEvent[]) => void>();
  #queue: Queued[] = [];
  #closed = false;
  /** Every lease id, sorted, for listings by id; rebuilt when leases were added since. */
  #sortedIds: string[] = [];

  private constructor(options: MemoryStoreOptions) {
    this.database = options.database ?? new MemoryDatabase();
    this.#retain = options.retainRevisions ?? 100_000;
  }

  static open(options: MemoryStoreOptions = {}): MemoryStore {
    return new MemoryStore(options);
  }

  get epoch(): string {
    return this.database.epoch;
  }
  get revision(): number {
    return this.database.chain.revision;
  }
  get compactedRevision(): number {
    return this.database.compactedRevision;
  }

  /** Commits queued in one event-loop turn are planned as one batch, as SQLite's group commit does. */
  commit(mutation: Mutation): Promise<CommitResult> {
    if (this.#closed)
      return Promise.reject(unavailable('the store is closed; retry later or on another server'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ mutation: clone(mutation), resolve, reject });
      if (this.#queue.length === 1)
        setImmediate(() => {
          this.#flush();
        });
    });
  }

  #flush(): void {
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    const db = this.database;
    const plan = planBatch(
      batch.map((q) => q.mutation),
      db.chain,
      {
        leaseRevision: (id) => db.leases.get(id)?.revision,
        hasAnswer: (host, requestId) => db.answers.has(answerKey(host, requestId)),
      },
    );
    const emitted: StoredEvent[][] = [];
    for (const outcome of plan.outcomes) {
      if (!outcome.ok) continue;
      const w = outcome.write;
      for (const lease of w.leases) db.leases.set(lease.id, lease);
      db.events.push(...w.events);
      if (w.answer !== undefined) {
        db.answers.set(answerKey(w.answer.host, w.answer.requestId), {
          requestHash: w.answer.requestHash,
          answer: w.answer.answer,
        });
      }
      if (w.pending !== undefined) db.pending.set(w.pending.id, w.pending);
      db.audit.push(...w.audit);
      if (w.events.length > 0) emitted.push([...w.events]);
    }
    db.chain = plan.end;
    this.#compactIfDue();
    batch.forEach((item, i) => {
      const outcome = plan.outcomes[i];
      if (outcome === undefined) return;
      if (outcome.ok) item.resolve(clone(outcome.write.result));
      else item.reject(outcome.error);
    });
    for (const events of emitted) for (const listener of this.#listeners) listener(events);
  }

  #compactIfDue(): void {
    const db = this.database;
    const floor = db.chain.revision - this.#retain;
    if (floor - db.compactedRevision < Math.max(1, Math.floor(this.#retain / 100))) return;
    db.events = db.events.filter((e) => e.revision > floor);
    db.compactedRevision = floor;
  }

  onCommit(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  findAnswer(host: string, requestId: string): Promise<StoredAnswer | undefined> {
    return this.#read(() => this.database.answers.get(answerKey(host, requestId)));
  }
  getLease(id: string): Promise<Lease | undefined> {
    return this.#read(() => this.database.leases.get(id));
  }
  listLeases(filter: LeaseFilter): Promise<Lease[]> {
    return this.#read(() => {
      const out: Lease[] = [];
      const limit = filter.limit ?? 1000;
      const leases =
        filter.afterId === undefined ? this.database.leases.values() : this.#leasesAfter(filter.afterId);
      for (const lease of leases) {
        if (out.length >= limit) break;
        if (filter.host !== undefined && lease.host !== filter.host) continue;
        if (filter.includeEnded !== true && lease.state === 'ended') continue;
        out.push(lease);
      }
      return out;
    });
  }
  listLiveLeaseKeys(): Promise<LiveLeaseKey[]> {
    return this.#read(() => {
      const out: LiveLeaseKey[] = [];
      for (const l of this.database.leases.values())
        if (l.state !== 'ended') out.push({ id: l.id, host: l.host });
      return out;
    });
  }

  /** Leases with id > afterId in id order (binary search in the sorted ids). */
  *#leasesAfter(afterId: string): Generator<Lease> {
    const leases = this.database.leases;
    // Leases are never removed, so a new size means new ids: re-sort only then.
    if (this.#sortedIds.length !== leases.size) this.#sortedIds = [...leases.keys()].sort();
    const ids = this.#sortedIds;
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ids[mid] ?? '') <= afterId) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ids.length; i++) {
      const lease = leases.get(ids[i] ?? '');
      if (lease !== undefined) yield lease;
    }
  }
  dueForExpiry(nowMs: number, limit: number): Promise<Lease[]> {
    return this.#read(() =>
      [...this.database.leases.values()]
        .filter((l) => l.state !== 'ended' && l.expiresAtMs <= nowMs)
        .sort((a, b) => a.expiresAtMs - b.expiresAtMs)
        .slice(0, limit),
    );
  }
  /** Whole revisions only: a page may run past `limit` to finish its last revision. */
  eventsAfter(after: number, limit: number): Promise<StoredEvent[] | 'compacted'> {
    return this.#read(() => {
      const db = this.database;
      if (after < db.compactedRevision) return 'compacted';
      const out: StoredEvent[] = [];
      for (const e of db.events) {
        if (e.revision <= after) continue;
        const last = out.at(-1);
        if (out.length >= limit && last !== undefined && last.revision !== e.revision) break;
        out.push(e);
      }
      return out;
    });
  }
  getPending(id: string): Promise<PendingRecord | undefined> {
    return this.#read(() => this.database.pending.get(id));
  }
  listPending(state?: PendingRecord['state']): Promise<PendingRecord[]> {
    return this.#read(() =>
      [...this.database.pending.values()].filter((p) => state === undefined || p.state === state),
    );
  }
  upsertHost(host: KnownHost): Promise<void> {
    return this.#read(() => {
      this.database.hosts.set(host.name, host);
    });
  }
  listHosts(): Promise<KnownHost[]> {
    return this.#read(() => [...this.database.hosts.values()]);
  }
  auditRecords(filter: { readonly afterSeq?: number; readonly limit?: number }): Promise<AuditRecord[]> {
    const after = filter.afterSeq ?? 0;
    return this.#read(() => {
      const audit = this.database.audit;
      // The chain is gap-free from its first remaining record: seq n is at index n - first.
      const first = audit[0]?.seq ?? 1;
      const from = Math.max(0, after + 1 - first);
      return audit.slice(from, from + (filter.limit ?? 1000));
    });
  }

  auditCheckpoints(): Promise<AuditCheckpoint[]> {
    return this.#read(() => this.database.auditCheckpoints);
  }

  async pruneAudit(request: PruneRequest): Promise<PruneResult> {
    const planned = await planAndSign(
      async () => (await this.auditCheckpoints()).at(-1),
      (afterSeq, limit) => this.auditRecords({ afterSeq, limit }),
      request,
    );
    if (planned === undefined) return { outcome: 'nothing' };
    if (planned === 'superseded') return { outcome: 'superseded' };
    const { base, claims, jws } = planned;
    if (this.#closed) throw unavailable('the store closed before the prune; nothing was pruned');
    const db = this.database;
    // Re-checked after the await, as the SQL stores re-check under their write lock.
    const last = db.audit.find((r) => r.seq === claims.seq);
    if (pruneBase(db.auditCheckpoints.at(-1)).seq !== base.seq || last?.hash !== claims.hash)
      return { outcome: 'superseded' };
    // Only the planned range: a record at or before the base was never verified (planPrune).
    db.audit = db.audit.filter((r) => r.seq <= base.seq || r.seq > claims.seq);
    db.auditCheckpoints.push(checkpointRecord(claims, jws));
    const record = chainAudit(pruneRecordInput(claims, request), db.chain.auditSeq, db.chain.auditHash);
    db.audit.push(record);
    db.chain = { ...db.chain, auditSeq: record.seq, auditHash: record.hash };
    return { outcome: 'pruned', checkpoint: claims, record: clone(record) };
  }

  /** Reads return copies, so a caller cannot change stored state by mutating a result. */
  #read<T>(fn: () => T): Promise<T> {
    if (this.#closed)
      return Promise.reject(unavailable('the store is closed; retry later or on another server'));
    return Promise.resolve(clone(fn()));
  }

  /** Flushes queued commits, then refuses new work. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#flush();
    this.#closed = true;
    this.#listeners.clear();
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function unavailable(message: string): PinholeError {
  return new PinholeError('UNAVAILABLE', message, { retryAfterMs: 1000 });
}
