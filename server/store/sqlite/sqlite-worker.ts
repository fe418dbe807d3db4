/**
 * The SQLite store's worker thread (started by sqlite-worker-store.ts): opens the one SqliteStore,
 * unchanged, and serves the main thread's calls, so statements, COMMIT's fsync and WAL
 * checkpoints run here and never hold up the server's event loop.
 *
 * Messages travel in batches (outbox.ts), in order. Each commit message is one `store.commit`
 * call: the calls that arrive in one turn of this thread's loop are queued before SqliteStore's
 * setImmediate flush runs, so they share one transaction exactly as concurrent callers on one
 * thread do (group commit). The failpoints of the commit path fire here, armed from the main
 * thread's spec; `exit` SIGKILLs the whole process.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { CheckpointClaims } from '../../audit/checkpoint.js';
import { configureFailpoints } from '../../failpoints.js';
import { SqliteStore } from './sqlite-store.js';
import { decodeError, encodeError } from './worker-errors.js';
import { Outbox } from './outbox.js';
import type { CallMessage, FromWorker, StoreState, ToWorker, WorkerStart } from './worker-protocol.js';

function stateOf(store: SqliteStore): StoreState {
  return { revision: store.revision, compactedRevision: store.compactedRevision };
}

/** Runs one call; the switch gives each method its own argument types. */
function dispatch(store: SqliteStore, m: CallMessage): Promise<unknown> {
  switch (m.method) {
    case 'commit':
      return store.commit(...m.args);
    case 'findAnswer':
      return store.findAnswer(...m.args);
    case 'getLease':
      return store.getLease(...m.args);
    case 'listLeases':
      return store.listLeases(...m.args);
    case 'listLiveLeaseKeys':
      return store.listLiveLeaseKeys();
    case 'dueForExpiry':
      return store.dueForExpiry(...m.args);
    case 'eventsAfter':
      return store.eventsAfter(...m.args);
    case 'getPending':
      return store.getPending(...m.args);
    case 'listPending':
      return store.listPending(...m.args);
    case 'upsertHost':
      return store.upsertHost(...m.args);
    case 'listHosts':
      return store.listHosts();
    case 'auditRecords':
      return store.auditRecords(...m.args);
    case 'auditCheckpoints':
      return store.auditCheckpoints();
  }
}

class WorkerServer {
  readonly #port: MessagePort;
  readonly #store: SqliteStore;
  readonly #outbox: Outbox<FromWorker>;
  /** Signatures the worker's prunes wait for, by prune id. */
  readonly #signing = new Map<number, { resolve: (jws: string) => void; reject: (e: Error) => void }>();

  constructor(port: MessagePort, store: SqliteStore) {
    this.#port = port;
    this.#store = store;
    this.#outbox = new Outbox<FromWorker>({
      send: (batch) => {
        port.postMessage(batch);
      },
      unsent: (message, error) => {
        // A reply that cannot be cloned (a bug) still answers its call, with the clone error;
        // anything else lost would leave the main thread's view behind, so the worker dies loudly.
        if (message.type !== 'reply') throw error;
        port.postMessage([{ type: 'reply', id: message.id, ok: false, error: encodeError(error) }]);
      },
      schedule: queueMicrotask,
    });
    store.onCommit((events) => {
      this.#post({ type: 'events', events, state: stateOf(store) });
    });
    port.on('message', (batch: readonly ToWorker[]) => {
      for (const m of batch) this.#handle(m);
    });
  }

  #post(message: FromWorker): void {
    this.#outbox.push(message);
  }

  #reply(id: number, run: Promise<unknown>, withState: boolean): void {
    run.then(
      (value) => {
        this.#post({
          type: 'reply',
          id,
          ok: true,
          value,
          ...(withState ? { state: stateOf(this.#store) } : {}),
        });
      },
      (error: unknown) => {
        this.#post({ type: 'reply', id, ok: false, error: encodeError(error) });
      },
    );
  }

  #handle(m: ToWorker): void {
    switch (m.type) {
      case 'call':
        this.#reply(m.id, dispatch(this.#store, m), m.method === 'commit');
        return;
      case 'prune':
        this.#reply(m.id, this.#store.pruneAudit({ ...m.request, sign: (c) => this.#sign(m.id, c) }), false);
        return;
      case 'signed': {
        const waiting = this.#signing.get(m.id);
        this.#signing.delete(m.id);
        if (m.ok) waiting?.resolve(m.jws);
        else waiting?.reject(decodeError(m.error));
        return;
      }
      case 'failpoints':
        configureFailpoints(m.spec);
        return;
      case 'close':
        void this.#store.close().then(() => {
          this.#post({ type: 'closed' });
          this.#outbox.flush();
          this.#port.close();
        });
        return;
    }
  }

  #sign(id: number, claims: CheckpointClaims): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#signing.set(id, { resolve, reject });
      this.#post({ type: 'sign', id, claims });
    });
  }
}

function main(port: MessagePort | null, start: WorkerStart): void {
  if (port === null) throw new Error('sqlite-worker runs as a worker thread; SqliteWorkerStore starts it');
  configureFailpoints(start.failpoints);
  let store: SqliteStore;
  try {
    store = SqliteStore.open(start.options);
  } catch (error) {
    port.postMessage([{ type: 'open-failed', error: encodeError(error) }] satisfies FromWorker[]);
    port.close();
    return;
  }
  new WorkerServer(port, store);
  port.postMessage([
    { type: 'ready', epoch: store.epoch, chainHeadFile: store.chainHeadFile, state: stateOf(store) },
  ] satisfies FromWorker[]);
}

main(parentPort, workerData as WorkerStart);
