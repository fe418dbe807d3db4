/**
 * The scale-out store: several Pinhole servers share one PostgreSQL database (DESIGN.md §8).
 *
 * - Commits from one server that arrive while its previous transaction runs share the next one
 *   (group commit, pg-commit.ts): one meta-row lock and one WAL flush for many grants.
 * - The revision counter and the audit chain head live in the one meta row that every commit
 *   locks, so revisions are global, strictly increasing and gap-free, and the audit log is one chain.
 * - Watch events cross servers through pg-feed.ts (NOTIFY as a wake-up, the events table as the truth).
 * - `revision` is the last revision delivered to this server's onCommit listeners, and
 *   `eventsAfter` never reads past it: the watch hub's "catch up, then go live" hand-over sees
 *   each revision exactly once, whichever server committed it.
 * - A database failure fails the request at once with UNAVAILABLE; the pool opens fresh
 *   connections when the database is back, and the feed re-reads from its last revision.
 */
import pg from 'pg';
import type { Pool, PoolClient } from 'pg';
import { PinholeError } from '../../core/errors.js';
import type { Lease } from '../../core/types.js';
import type { AuditRecord } from '../../audit/record.js';
import { checkpointRecord, type AuditCheckpoint } from '../../audit/checkpoint.js';
import { planAndSign, pruneRecordInput, type PruneRequest, type PruneResult } from '../../audit/prune.js';
import type { Logger } from '../../log.js';
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
import { commitBatch, type BatchOutcome } from './pg-commit.js';
import { dbUnavailable, isConnectionError, RETRY_AFTER_MS } from './pg-errors.js';
import { CommitFeed } from './pg-feed.js';
import * as reads from './pg-reads.js';
import * as prune from './pg-prune.js';
import { migrate } from './pg-schema.js';

export interface PgStoreOptions {
  /** Connection URL, e.g. `postgres://pinhole:secret@db.example:5432/pinhole`. */
  readonly url: string;
  /** Pooled connections for commits and reads (plus one for LISTEN). Default 10. */
  readonly poolSize?: number;
  /** Revisions of lease events kept for watch resumes. Default 100,000. */
  readonly retainRevisions?: number;
  /** Fallback poll of the commit feed when no NOTIFY arrives, ms. Default 1,000. */
  readonly pollMs?: number;
  /** Most mutations in one group-commit transaction. Default 1,000. */
  readonly maxBatch?: number;
  /** Give up connecting after this long, ms. Default 5,000. */
  readonly connectTimeoutMs?: number;
  /** Give up on a statement after this long, ms. Default 15,000. */
  readonly queryTimeoutMs?: number;
  readonly log?: Logger;
}

interface Queued {
  readonly mutation: Mutation;
  readonly resolve: (r: CommitResult) => void;
  readonly reject: (e: unknown) => void;
}

type Phase = 'open' | 'closing' | 'closed';

const UNKNOWN_OUTCOME = 'the change may not have been saved; retry with the same request id';
const CLOSE_DRAIN_MS = 5000;

export class PgStore implements Store {
  readonly kind = 'postgres';
  readonly epoch: string;
  readonly #pool: Pool;
  readonly #feed: CommitFeed;
  readonly #retain: number;
  readonly #maxBatch: number;
  readonly #listeners = new Set<(events: readonly StoredEvent[]) => void>();
  #queue: Queued[] = [];
  #pumping: Promise<void> | undefined;
  #phase: Phase = 'open';
  #closing: Promise<void> | undefined;
  #compacted: number;
  readonly #log: Logger | undefined;

  private constructor(pool: Pool, meta: reads.MetaRow, options: PgStoreOptions) {
    this.#pool = pool;
    this.epoch = meta.epoch;
    this.#compacted = Number(meta.compacted_revision);
    this.#retain = options.retainRevisions ?? 100_000;
    this.#maxBatch = options.maxBatch ?? 1000;
    this.#log = options.log;
    this.#feed = new CommitFeed({
      pool,
      connection: connectionConfig(options),
      from: Number(meta.revision),
      deliver: (events) => {
        this.#emit(events);
      },
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  }

  /** Connects, migrates (once across servers), reads the epoch and revision, starts the feed. */
  static async open(options: PgStoreOptions): Promise<PgStore> {
    const pool = new pg.Pool({ ...connectionConfig(options), max: options.poolSize ?? 10 });
    // An idle pooled connection the server closed (restart, failover) must not crash the process;
    // the pool drops it and the next query opens a fresh one.
    pool.on('error', (error) =>
      options.log?.warn({ err: error.message }, 'an idle database connection failed; it will be replaced'),
    );
    // A checked-out connection has no listener of the pool's: when the server ends the session
    // between two statements of a transaction, the driver emits 'error' on the client, which
    // would crash the process. The statement in flight (or the next one) fails and reports it.
    pool.on('connect', (client) => {
      client.on('error', () => undefined);
    });
    try {
      const client = await pool.connect();
      try {
        const applied = await migrate(client);
        if (applied.length > 0) options.log?.info({ migrations: applied }, 'database migrated');
      } finally {
        client.release();
      }
      const store = new PgStore(pool, await reads.readMeta(pool), options);
      await store.#feed.start();
      return store;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw dbUnavailable(error, 'cannot open the store; check store.url and that PostgreSQL is running');
    }
  }

  /** The last revision delivered to onCommit listeners on this server. */
  get revision(): number {
    return this.#feed.delivered;
  }
  get compactedRevision(): number {
    return this.#compacted;
  }

  commit(mutation: Mutation): Promise<CommitResult> {
    if (this.#phase !== 'open') {
      return Promise.reject(
        new PinholeError('UNAVAILABLE', 'the store is shutting down; retry on another server', {
          retryAfterMs: RETRY_AFTER_MS,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ mutation, resolve, reject });
      this.#schedule();
    });
  }

  /** Commits issued in this event-loop turn, and all that arrive while a transaction runs, share the next one. */
  #schedule(): void {
    if (this.#pumping !== undefined) return;
    this.#pumping = new Promise<void>((r) => setImmediate(r))
      .then(() => this.#pump())
      .finally(() => {
        this.#pumping = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
  }

  async #pump(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      await this.#run(batch);
    }
  }

  async #run(batch: readonly Queued[]): Promise<void> {
    let client: PoolClient | undefined;
    let out: BatchOutcome;
    try {
      client = await this.#pool.connect();
      out = await commitBatch(
        client,
        batch.map((q) => q.mutation),
        { retainRevisions: this.#retain },
      );
    } catch (error) {
      client?.release(true); // its session may be mid-transaction or broken: never reuse it
      if (batch.length > 1 && !isConnectionError(error)) {
        // The database refused something in the batch (rolled back): retry each alone so it fails by itself.
        for (const item of batch) await this.#run([item]);
        return;
      }
      const failure = duplicateAnswer(error, batch[0]?.mutation) ?? dbUnavailable(error, UNKNOWN_OUTCOME);
      for (const item of batch) item.reject(failure);
      return;
    }
    // Committed: nothing below may send the batch back for a retry.
    client.release();
    this.#compacted = Math.max(this.#compacted, out.compactedRevision);
    batch.forEach((item, i) => {
      const outcome = out.plan.outcomes[i];
      if (outcome === undefined)
        item.reject(new PinholeError('INTERNAL', 'the store lost a mutation of its batch'));
      else if (outcome.ok) item.resolve(outcome.write.result);
      else item.reject(outcome.error);
    });
    this.#feed.deliverLocal(out.start.revision, out.events);
  }

  /** One failing listener must not keep the others (or the feed) from their events. */
  #emit(events: readonly StoredEvent[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(events);
      } catch (error) {
        this.#log?.error(
          { err: error },
          'an onCommit listener threw; the other listeners still got the events',
        );
      }
    }
  }

  onCommit(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves once every revision committed (by any server) before the call was delivered to onCommit. */
  async catchUp(): Promise<number> {
    await this.#feed.catchUp();
    return this.#feed.delivered;
  }

  findAnswer(host: string, requestId: string): Promise<StoredAnswer | undefined> {
    return this.#read((db) => reads.findAnswer(db, host, requestId));
  }
  getLease(id: string): Promise<Lease | undefined> {
    return this.#read((db) => reads.getLease(db, id));
  }
  listLeases(filter: LeaseFilter): Promise<Lease[]> {
    return this.#read((db) => reads.listLeases(db, filter));
  }
  listLiveLeaseKeys(): Promise<LiveLeaseKey[]> {
    return this.#read((db) => reads.listLiveLeaseKeys(db));
  }
  dueForExpiry(nowMs: number, limit: number): Promise<Lease[]> {
    return this.#read((db) => reads.dueForExpiry(db, nowMs, limit));
  }
  eventsAfter(after: number, limit: number): Promise<StoredEvent[] | 'compacted'> {
    return this.#read(async (db) => {
      const page = await reads.eventsAfter(db, after, this.#feed.delivered, limit);
      this.#compacted = Math.max(this.#compacted, page.compacted);
      return page.events;
    });
  }
  getPending(id: string): Promise<PendingRecord | undefined> {
    return this.#read((db) => reads.getPending(db, id));
  }
  listPending(state?: PendingRecord['state']): Promise<PendingRecord[]> {
    return this.#read((db) => reads.listPending(db, state));
  }
  upsertHost(host: KnownHost): Promise<void> {
    return this.#read((db) => reads.upsertHost(db, host));
  }
  listHosts(): Promise<KnownHost[]> {
    return this.#read((db) => reads.listHosts(db));
  }
  auditRecords(filter: { readonly afterSeq?: number; readonly limit?: number }): Promise<AuditRecord[]> {
    return this.#read((db) => reads.auditRecords(db, filter.afterSeq ?? 0, filter.limit ?? 1000));
  }

  auditCheckpoints(): Promise<AuditCheckpoint[]> {
    return this.#read((db) => prune.auditCheckpoints(db));
  }

  /** Plans and signs outside the transaction; pg-prune.ts re-checks under the meta-row lock. */
  async pruneAudit(request: PruneRequest): Promise<PruneResult> {
    const planned = await planAndSign(
      () => this.#read((db) => prune.newestCheckpoint(db)),
      (afterSeq, limit) => this.auditRecords({ afterSeq, limit }),
      request,
    );
    if (planned === undefined) return { outcome: 'nothing' };
    if (planned === 'superseded') return { outcome: 'superseded' };
    const { base, claims, jws } = planned;
    if (this.#phase !== 'open')
      throw new PinholeError('UNAVAILABLE', 'the store is shutting down; nothing was pruned, retry later', {
        retryAfterMs: RETRY_AFTER_MS,
      });
    let client: PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      const out = await prune.applyPrune(
        client,
        base,
        checkpointRecord(claims, jws),
        pruneRecordInput(claims, request),
      );
      client.release();
      return out === 'superseded'
        ? { outcome: 'superseded' }
        : { outcome: 'pruned', checkpoint: claims, record: out };
    } catch (error) {
      client?.release(true);
      throw dbUnavailable(
        error,
        'the prune may not have been saved; run `pinhole audit prune` again (it continues from the newest checkpoint)',
      );
    }
  }

  async #read<T>(fn: (db: Pool) => Promise<T>): Promise<T> {
    if (this.#phase === 'closed') {
      throw new PinholeError('UNAVAILABLE', 'the store is closed; retry later or on another server', {
        retryAfterMs: RETRY_AFTER_MS,
      });
    }
    try {
      return await fn(this.#pool);
    } catch (error) {
      throw dbUnavailable(error, 'retry');
    }
  }

  /** Stops taking commits, lets queued ones finish (up to 5 s), then closes the feed and the pool. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#phase = 'closing';
    const deadline = Date.now() + CLOSE_DRAIN_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, CLOSE_DRAIN_MS)));
    while (this.#pumping !== undefined && Date.now() < deadline) await Promise.race([this.#pumping, timeout]);
    clearTimeout(timer);
    const abandoned = this.#queue.splice(0);
    const error = new PinholeError(
      'UNAVAILABLE',
      'the store closed before this change was saved; retry on another server',
      { retryAfterMs: RETRY_AFTER_MS },
    );
    for (const item of abandoned) item.reject(error);
    this.#phase = 'closed';
    await this.#feed.close();
    this.#listeners.clear();
    await this.#pool.end().catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function connectionConfig(o: PgStoreOptions): pg.PoolConfig {
  return {
    connectionString: o.url,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    query_timeout: o.queryTimeoutMs ?? 15_000,
    keepAlive: true,
    application_name: 'pinhole',
    // A server that stops inside a transaction (host crash, partition: no FIN reaches PostgreSQL)
    // would hold the meta-row lock, and with it every server's commits, until TCP gives up. Our
    // transactions never idle between statements, so PostgreSQL may end such a session quickly.
    idle_in_transaction_session_timeout: 5000,
  };
}

/** The unique key on answers is the backstop for idempotency across servers; its violation is ALREADY_EXISTS. */
function duplicateAnswer(error: unknown, mutation: Mutation | undefined): PinholeError | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error) || !('constraint' in error))
    return undefined;
  if (error.code !== '23505' || error.constraint !== 'answers_pkey' || mutation?.answer === undefined)
    return undefined;
  return new PinholeError('ALREADY_EXISTS', `request_id ${mutation.answer.requestId} was already answered`);
}
