/**
 * The embedded store with its SQLite work on a worker thread (sqlite-worker.ts): the same
 * SqliteStore, durability and group commit, but prepared statements, COMMIT's fsync and WAL
 * checkpoints no longer stop the server's event loop, and they run on another core while the
 * main thread does TLS and gRPC.
 *
 * What the main thread sees is what SqliteStore on the main thread shows: `revision` and
 * `compactedRevision` are mirrored from each commit reply and onCommit delivery, updated before
 * the commit's promise resolves and before listeners run; listeners run once per commit, in
 * revision order, after the commit is durable. Errors keep their PinholeError code and fields.
 * If the worker dies, every pending and later call fails with UNAVAILABLE (the health probe then
 * reports NOT_SERVING, and nothing is granted, since every grant needs a commit).
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from '../../log.js';
import type { Lease } from '../../core/types.js';
import { PinholeError } from '../../core/errors.js';
import type { AuditRecord } from '../../audit/record.js';
import type { AuditCheckpoint } from '../../audit/checkpoint.js';
import type { PruneRequest, PruneResult } from '../../audit/prune.js';
import { failpointSpec, onFailpointsChange } from '../../failpoints.js';
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
import type { SqliteStoreOptions } from './sqlite-store.js';
import { startModuleWorker } from './module-worker.js';
import { Outbox } from './outbox.js';
import { callError, closedError, decodeError, encodeError, WORDS, type CallKind } from './worker-errors.js';
import type {
  CallMessage,
  CallName,
  CallResult,
  FromWorker,
  ReadyMessage,
  StoreState,
  ToWorker,
  WorkerStart,
} from './worker-protocol.js';

export interface SqliteWorkerStoreOptions extends SqliteStoreOptions {
  /** Where the death of the worker is reported. */
  readonly log?: Logger;
  /** How long close() waits for the worker to finish queued commits before ending it. Default 10 s. */
  readonly closeTimeoutMs?: number;
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: PinholeError) => void;
  readonly kind: CallKind;
  /** A prune's signer, asked for by the worker. */
  readonly sign?: PruneRequest['sign'];
}

type Phase = 'open' | 'closing' | 'closed' | 'failed';

/** Test hook: ends the worker thread as a crash would (no close, no flush). */
export const crashWorkerForTests = Symbol('crashWorkerForTests');

export class SqliteWorkerStore implements Store {
  readonly kind = 'sqlite';
  readonly epoch: string;
  readonly chainHeadFile: string;
  readonly #worker: Worker;
  readonly #outbox: Outbox<ToWorker>;
  readonly #log: Logger | undefined;
  readonly #closeTimeoutMs: number;
  readonly #listeners = new Set<(events: readonly StoredEvent[]) => void>();
  readonly #failureListeners = new Set<(error: Error) => void>();
  readonly #pending = new Map<number, Pending>();
  readonly #stopFailpoints: () => void;
  #nextId = 1;
  #phase: Phase = 'open';
  #state: StoreState;
  /** Set when the worker died: what every call gets from then on. */
  #failure: PinholeError | undefined;
  #closing: Promise<void> | undefined;
  /** Resolves close() once the worker has closed the database (or is gone). */
  #closed: (() => void) | undefined;

  private constructor(
    worker: Worker,
    ready: ReadyMessage,
    options: SqliteWorkerStoreOptions,
    armedAtStart: string | undefined,
  ) {
    this.#worker = worker;
    this.#outbox = new Outbox<ToWorker>({
      send: (batch) => {
        worker.postMessage(batch);
      },
      unsent: (message, cause) => {
        // Arguments that cannot be cloned (a bug): that call fails, the others go.
        if (message.type !== 'call' && message.type !== 'prune') throw cause;
        const pending = this.#settle(message.id);
        pending?.reject(
          new PinholeError('UNAVAILABLE', WORDS[pending.kind].failed, { retryAfterMs: 1000, cause }),
        );
      },
      schedule: setImmediate,
    });
    this.epoch = ready.epoch;
    this.chainHeadFile = ready.chainHeadFile;
    this.#state = ready.state;
    this.#log = options.log;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    worker.on('message', (batch: readonly FromWorker[]) => {
      for (const m of batch) this.#handle(m);
    });
    worker.on('error', (error) => {
      this.#fail(error);
    });
    worker.on('exit', (code) => {
      if (this.#phase === 'open') this.#fail(new Error(`the store worker thread exited with code ${code}`));
      this.#closed?.();
    });
    this.#stopFailpoints = onFailpointsChange((spec) => {
      this.#post({ type: 'failpoints', spec });
    });
    // Re-armed while the worker was opening the database: the worker started with the old spec.
    if (failpointSpec() !== armedAtStart) this.#post({ type: 'failpoints', spec: failpointSpec() });
    // Idle, the worker must not keep the process alive (SqliteStore does not); a call refs it.
    worker.unref();
  }

  /**
   * Starts the worker, which opens (creating and migrating if needed) the database; resolves once
   * it is open. An open failure rejects with the error SqliteStore.open threw, rebuilt.
   */
  static open(options: SqliteWorkerStoreOptions): Promise<SqliteWorkerStore> {
    // Only SqliteStore's own options cross (a Logger cannot be cloned).
    const storeOptions: SqliteStoreOptions = {
      path: options.path,
      ...(options.retainRevisions === undefined ? {} : { retainRevisions: options.retainRevisions }),
      ...(options.chainHeadFile === undefined ? {} : { chainHeadFile: options.chainHeadFile }),
    };
    const start: WorkerStart = { options: storeOptions, failpoints: failpointSpec() };
    const worker = startModuleWorker(import.meta.url, 'sqlite-worker', { workerData: start });
    return new Promise((resolve, reject) => {
      const failed = (error: Error): void => {
        worker.off('message', onMessage);
        worker.off('error', failed);
        worker.off('exit', exited);
        void worker.terminate();
        reject(error);
      };
      const exited = (code: number): void => {
        failed(new Error(`the store worker thread exited with code ${code} before the database was open`));
      };
      // The worker's first message is one of these two, alone.
      const onMessage = ([m]: readonly FromWorker[]): void => {
        if (m?.type === 'open-failed') {
          failed(decodeError(m.error));
          return;
        }
        if (m?.type !== 'ready') return;
        worker.off('message', onMessage);
        worker.off('error', failed);
        worker.off('exit', exited);
        resolve(new SqliteWorkerStore(worker, m, options, start.failpoints));
      };
      worker.on('message', onMessage);
      worker.on('error', failed);
      worker.on('exit', exited);
    });
  }

  get revision(): number {
    return this.#state.revision;
  }
  get compactedRevision(): number {
    return this.#state.compactedRevision;
  }

  commit(mutation: Mutation): Promise<CommitResult> {
    return this.#call('commit', [mutation], 'commit');
  }
  findAnswer(host: string, requestId: string): Promise<StoredAnswer | undefined> {
    return this.#call('findAnswer', [host, requestId], 'read');
  }
  getLease(id: string): Promise<Lease | undefined> {
    return this.#call('getLease', [id], 'read');
  }
  listLeases(filter: LeaseFilter): Promise<Lease[]> {
    return this.#call('listLeases', [filter], 'read');
  }
  listLiveLeaseKeys(): Promise<LiveLeaseKey[]> {
    return this.#call('listLiveLeaseKeys', [], 'read');
  }
  dueForExpiry(nowMs: number, limit: number): Promise<Lease[]> {
    return this.#call('dueForExpiry', [nowMs, limit], 'read');
  }
  eventsAfter(after: number, limit: number): Promise<StoredEvent[] | 'compacted'> {
    return this.#call('eventsAfter', [after, limit], 'read');
  }
  getPending(id: string): Promise<PendingRecord | undefined> {
    return this.#call('getPending', [id], 'read');
  }
  listPending(state?: PendingRecord['state']): Promise<PendingRecord[]> {
    return this.#call('listPending', state === undefined ? [] : [state], 'read');
  }
  upsertHost(host: KnownHost): Promise<void> {
    return this.#call('upsertHost', [host], 'read');
  }
  listHosts(): Promise<KnownHost[]> {
    return this.#call('listHosts', [], 'read');
  }
  auditRecords(filter: { readonly afterSeq?: number; readonly limit?: number }): Promise<AuditRecord[]> {
    return this.#call('auditRecords', [filter], 'read');
  }
  auditCheckpoints(): Promise<AuditCheckpoint[]> {
    return this.#call('auditCheckpoints', [], 'read');
  }

  /** The worker plans and prunes; the signature is made here, where the receipt key is. */
  pruneAudit(request: PruneRequest): Promise<PruneResult> {
    const { sign, ...rest } = request;
    return this.#request(
      (id) => ({ type: 'prune', id, request: rest }),
      'prune',
      sign,
    ) as Promise<PruneResult>;
  }

  onCommit(listener: (events: readonly StoredEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called once if the worker dies (at once if it already has). */
  onFailure(listener: (error: Error) => void): () => void {
    if (this.#failure !== undefined) {
      listener(this.#failure);
      return () => undefined;
    }
    this.#failureListeners.add(listener);
    return () => this.#failureListeners.delete(listener);
  }

  /**
   * The worker answers with what SqliteStore's method resolved to: the result type is the
   * method's, as the message's is (the worker's dispatch switch checks that side).
   */
  #call<K extends CallName>(method: K, args: Parameters<Store[K]>, kind: CallKind): Promise<CallResult<K>> {
    // One message type per method; TypeScript cannot pair a generic K with its member of the union.
    const message = (id: number): ToWorker => ({ type: 'call', id, method, args }) as CallMessage;
    return this.#request(message, kind) as Promise<CallResult<K>>;
  }

  #request(message: (id: number) => ToWorker, kind: CallKind, sign?: PruneRequest['sign']): Promise<unknown> {
    const refused = this.#refusal(kind);
    if (refused !== undefined) return Promise.reject(refused);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject, kind, ...(sign === undefined ? {} : { sign }) });
      this.#post(message(id));
    });
  }

  /** Why a call is refused now: the worker's death, or SqliteStore's words after close. */
  #refusal(kind: CallKind): PinholeError | undefined {
    if (this.#phase === 'open') return undefined;
    return this.#failure ?? closedError(kind);
  }

  #post(message: ToWorker): void {
    this.#outbox.push(message);
  }

  #settle(id: number): Pending | undefined {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    // While closing, the thread stays referenced until it has closed the database.
    if (this.#pending.size === 0 && this.#phase === 'open') this.#worker.unref();
    return pending;
  }

  #handle(m: FromWorker): void {
    switch (m.type) {
      case 'reply': {
        if (m.ok && m.state !== undefined) this.#state = m.state;
        const pending = this.#settle(m.id);
        if (pending === undefined) return;
        if (m.ok) pending.resolve(m.value);
        else pending.reject(callError(m.error, pending.kind));
        return;
      }
      case 'events':
        this.#state = m.state;
        for (const listener of this.#listeners) listener(m.events);
        return;
      case 'sign':
        this.#sign(m.id, m.claims);
        return;
      case 'closed':
        this.#closed?.();
        return;
      case 'ready':
      case 'open-failed':
        return; // only at start (open)
    }
  }

  #sign(id: number, claims: Parameters<PruneRequest['sign']>[0]): void {
    const sign = this.#pending.get(id)?.sign;
    if (sign === undefined) return;
    sign(claims).then(
      (jws) => {
        this.#post({ type: 'signed', id, ok: true, jws });
      },
      (error: unknown) => {
        this.#post({ type: 'signed', id, ok: false, error: encodeError(error) });
      },
    );
  }

  /** The worker is gone: every pending and later call fails, and the log says why. */
  #fail(cause: Error): void {
    if (this.#phase === 'failed' || this.#phase === 'closed') return;
    this.#phase = 'failed';
    this.#failure = new PinholeError(
      'UNAVAILABLE',
      'the store stopped (its worker thread died); nothing more can be recorded on this server, retry on another',
      { retryAfterMs: 1000, cause },
    );
    this.#log?.error(
      { err: cause },
      'the SQLite store worker thread died; every store call fails until the server restarts',
    );
    const failure = this.#failure;
    this.#end(failure);
    const listeners = [...this.#failureListeners];
    this.#failureListeners.clear();
    for (const listener of listeners) listener(failure);
  }

  /** Fails what is still pending and lets go of the worker and the failpoint feed. */
  #end(error: PinholeError): void {
    this.#stopFailpoints();
    this.#listeners.clear();
    if (this.#phase !== 'failed') this.#failureListeners.clear();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(error);
    this.#worker.unref();
  }

  /**
   * Stops taking work, lets the worker finish what it has queued (SqliteStore.close flushes it,
   * so those commits complete and their listeners run), then ends the thread. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    if (this.#phase === 'open') {
      this.#phase = 'closing';
      this.#worker.ref();
      const closed = new Promise<void>((resolve) => {
        this.#closed = resolve;
      });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.#log?.error(
            { timeoutMs: this.#closeTimeoutMs },
            'the SQLite store worker did not close in time; ending it',
          );
          resolve();
        }, this.#closeTimeoutMs);
        timer.unref();
      });
      this.#post({ type: 'close' });
      await Promise.race([closed, timedOut]);
      clearTimeout(timer);
    }
    if (this.#phase === 'closing') this.#phase = 'closed';
    this.#end(this.#failure ?? closedError('commit'));
    await this.#worker.terminate();
  }

  /** Ends the thread at once, as a crash would: for tests of what the main thread does then. */
  async [crashWorkerForTests](): Promise<void> {
    await this.#worker.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
