/**
 * The messages between SqliteWorkerStore (main thread) and sqlite-worker.ts (the thread that owns
 * the database). Calls carry ids and are answered once each, in any order; everything in them is
 * structured-clone data (errors as WireError, worker-errors.ts). Each postMessage carries an
 * array of them (outbox.ts). A MessagePort delivers in order, which the mirror of the store's
 * counters relies on (see StoreState).
 */
import type { CheckpointClaims } from '../../audit/checkpoint.js';
import type { PruneRequest } from '../../audit/prune.js';
import type { Store, StoredEvent } from '../store.js';
import type { SqliteStoreOptions } from './sqlite-store.js';
import type { WireError } from './worker-errors.js';

/** The Store methods that cross as plain calls: arguments and results are data. */
export type CallName =
  | 'commit'
  | 'findAnswer'
  | 'getLease'
  | 'listLeases'
  | 'listLiveLeaseKeys'
  | 'dueForExpiry'
  | 'eventsAfter'
  | 'getPending'
  | 'listPending'
  | 'upsertHost'
  | 'listHosts'
  | 'auditRecords'
  | 'auditCheckpoints';

export type CallResult<K extends CallName> = Awaited<ReturnType<Store[K]>>;

/** One message per method, so the worker's switch on `method` types each call's arguments. */
export type CallMessage = {
  [K in CallName]: {
    readonly type: 'call';
    readonly id: number;
    readonly method: K;
    readonly args: Parameters<Store[K]>;
  };
}[CallName];

/**
 * A prune without its signer: the receipt key stays on the main thread, so the worker asks for
 * the signature (SignMessage) and waits for it (SignedMessage).
 */
export interface PruneMessage {
  readonly type: 'prune';
  readonly id: number;
  readonly request: Omit<PruneRequest, 'sign'>;
}

export type SignedMessage =
  | { readonly type: 'signed'; readonly id: number; readonly ok: true; readonly jws: string }
  | { readonly type: 'signed'; readonly id: number; readonly ok: false; readonly error: WireError };

/** Re-arms the worker's failpoints (server/failpoints.ts) as the main thread's were. */
export interface FailpointsMessage {
  readonly type: 'failpoints';
  readonly spec: string | undefined;
}

/** SqliteStore.close: the queued commits finish, then the database closes; answered by ClosedMessage. */
export interface CloseMessage {
  readonly type: 'close';
}

export type ToWorker = CallMessage | PruneMessage | SignedMessage | FailpointsMessage | CloseMessage;

/**
 * The store's counters after the change a message reports. They only grow, and the worker sends
 * them in the order it reached them, so the latest message received is always the newest state.
 */
export interface StoreState {
  readonly revision: number;
  readonly compactedRevision: number;
}

export interface ReadyMessage {
  readonly type: 'ready';
  readonly epoch: string;
  readonly chainHeadFile: string;
  readonly state: StoreState;
}

export interface OpenFailedMessage {
  readonly type: 'open-failed';
  readonly error: WireError;
}

export type ReplyMessage =
  | {
      readonly type: 'reply';
      readonly id: number;
      readonly ok: true;
      readonly value: unknown;
      /** With commit replies only: the state once this commit is durable. */
      readonly state?: StoreState;
    }
  | { readonly type: 'reply'; readonly id: number; readonly ok: false; readonly error: WireError };

/**
 * One onCommit delivery. Posted from inside SqliteStore's listener, so after the COMMIT and
 * before the reply to any commit of that batch, and before the reply to any read that began after
 * it: a read never returns a row whose event the main thread has not yet had.
 */
export interface EventsMessage {
  readonly type: 'events';
  readonly events: readonly StoredEvent[];
  readonly state: StoreState;
}

/** The worker's prune `id` needs its claims signed. */
export interface SignMessage {
  readonly type: 'sign';
  readonly id: number;
  readonly claims: CheckpointClaims;
}

export interface ClosedMessage {
  readonly type: 'closed';
}

export type FromWorker =
  ReadyMessage | OpenFailedMessage | ReplyMessage | EventsMessage | SignMessage | ClosedMessage;

/** What the worker is started with (workerData). */
export interface WorkerStart {
  readonly options: SqliteStoreOptions;
  readonly failpoints: string | undefined;
}
