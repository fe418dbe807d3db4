/**
 * The channel to the server and the calls the SDK makes on it, as promises that reject with
 * {@link PinholeClientError}. One Transport is shared by all openings of a client.
 *
 * After a connection failure (UNAVAILABLE without a retry hint) the channel is replaced by a fresh
 * one. grpc-js backs off reconnecting (up to 2 minutes) and fails calls fast meanwhile, so a server
 * that came back would stay unreachable until the channel's own timer fired; the renewal schedule,
 * not the channel, decides when to try.
 */
import type { ChannelOptions, ClientUnaryCall, ServiceError } from '@grpc/grpc-js';
import type { OpeningClient } from '../proto/gen/pinhole/v1/Opening.js';
import type { OpenRequest } from '../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../proto/gen/pinhole/v1/OpenResponse.js';
import type { RenewRequest } from '../proto/gen/pinhole/v1/RenewRequest.js';
import type { RenewResponse__Output } from '../proto/gen/pinhole/v1/RenewResponse.js';
import type { ReleaseRequest } from '../proto/gen/pinhole/v1/ReleaseRequest.js';
import type { ReleaseResponse__Output } from '../proto/gen/pinhole/v1/ReleaseResponse.js';
import type { ListMineRequest } from '../proto/gen/pinhole/v1/ListMineRequest.js';
import type { ListMineResponse__Output } from '../proto/gen/pinhole/v1/ListMineResponse.js';
import type { WaitDecisionEvent__Output } from '../proto/gen/pinhole/v1/WaitDecisionEvent.js';
import { PinholeClientError, toClientError } from './errors.js';
import { abortError } from './timing.js';
import { openingClient, type ClientTls } from './wire.js';

/** Per-call options: an absolute deadline (local ms) and cancellation. */
export interface CallOptions {
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

interface UnaryMethods {
  Open: [OpenRequest, OpenResponse__Output];
  Renew: [RenewRequest, RenewResponse__Output];
  Release: [ReleaseRequest, ReleaseResponse__Output];
  ListMine: [ListMineRequest, ListMineResponse__Output];
}

type UnaryFn<Req, Res> = (
  request: Req,
  options: { deadline: Date },
  callback: (error: ServiceError | null, response?: Res) => void,
) => ClientUnaryCall;

/** Channel options the SDK adds: its own subchannel, so a replaced channel really reconnects. */
const SDK_CHANNEL_OPTIONS: ChannelOptions = { 'grpc.use_local_subchannel_pool': 1 };

/** The client's channel and its calls; replaced after connection failures. Internal. */
export class Transport {
  readonly #address: string;
  readonly #tls: ClientTls;
  readonly #options: ChannelOptions;
  #client: OpeningClient | undefined;
  #closed = false;
  /** Every call that fails with UNAVAILABLE on the current channel replaces it once. */
  #generation = 0;
  /** Observers of every `server_epoch` seen in an answer. */
  readonly #epochListeners = new Set<(epoch: string) => void>();

  constructor(address: string, tls: ClientTls, options: ChannelOptions = {}) {
    this.#address = address;
    this.#tls = tls;
    this.#options = { ...SDK_CHANNEL_OPTIONS, ...options };
  }

  /** The server address, `host:port`. */
  get address(): string {
    return this.#address;
  }

  #current(): OpeningClient {
    if (this.#closed) throw new PinholeClientError('CLOSED', 'the Pinhole client is closed');
    this.#client ??= openingClient(this.#address, this.#tls, this.#options);
    return this.#client;
  }

  /** Replaces the channel after a connection failure seen on `generation` (later failures of the same one are ignored). */
  #reset(generation: number): void {
    if (generation !== this.#generation || this.#client === undefined) return;
    this.#generation++;
    this.#client.close();
    this.#client = undefined;
  }

  /** Calls `fn` for every `server_epoch` seen in an answer; returns an unsubscribe function. */
  onEpoch(fn: (epoch: string) => void): () => void {
    this.#epochListeners.add(fn);
    return () => this.#epochListeners.delete(fn);
  }

  #sawEpoch(epoch: string): void {
    if (epoch === '') return;
    for (const fn of this.#epochListeners) fn(epoch);
  }

  /** One unary call with a deadline and cancellation; rejects with a {@link PinholeClientError}. */
  unary<M extends keyof UnaryMethods>(
    method: M,
    request: UnaryMethods[M][0],
    o: CallOptions,
  ): Promise<UnaryMethods[M][1]> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted === true) {
        reject(abortError(o.signal, method));
        return;
      }
      let client: OpeningClient;
      try {
        client = this.#current();
      } catch (e) {
        reject(toClientError(e, method));
        return;
      }
      const generation = this.#generation;
      const fn = client[method] as unknown as UnaryFn<UnaryMethods[M][0], UnaryMethods[M][1]>;
      const onAbort = (): void => {
        call.cancel();
      };
      const call = fn.call(
        client,
        request,
        { deadline: new Date(Math.max(o.deadlineMs, Date.now() + 1)) },
        (error, response) => {
          o.signal?.removeEventListener('abort', onAbort);
          if (o.signal?.aborted === true) {
            reject(abortError(o.signal, method));
          } else if (error !== null) {
            const mapped = toClientError(error, method);
            if (connectionLost(mapped)) this.#reset(generation);
            reject(mapped);
          } else if (response === undefined) {
            reject(new PinholeClientError('INTERNAL', `${method} returned no response`, { method }));
          } else {
            this.#sawEpoch(typeof response.serverEpoch === 'string' ? response.serverEpoch : '');
            resolve(response);
          }
        },
      );
      o.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Streams WaitDecision and resolves with the first answer that is not PENDING (the final one).
   * Rejects with UNAVAILABLE (retryable) if the stream ends without one.
   */
  waitDecision(pendingId: string, o: CallOptions): Promise<OpenResponse__Output> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted === true) {
        reject(abortError(o.signal, 'WaitDecision'));
        return;
      }
      let client: OpeningClient;
      try {
        client = this.#current();
      } catch (e) {
        reject(toClientError(e, 'WaitDecision'));
        return;
      }
      const generation = this.#generation;
      let settled = false;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        o.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const stream = client.WaitDecision(
        { pendingId },
        { deadline: new Date(Math.max(o.deadlineMs, Date.now() + 1)) },
      );
      const onAbort = (): void => {
        settle(() => {
          reject(abortError(o.signal as AbortSignal, 'WaitDecision'));
        });
        stream.cancel();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (event: WaitDecisionEvent__Output) => {
        const response = event.response;
        if (response === null) return;
        this.#sawEpoch(response.serverEpoch);
        if (response.decision !== null && response.decision.outcome !== 'PENDING') {
          settle(() => {
            resolve(response);
          });
          stream.cancel();
        }
      });
      stream.on('error', (error: unknown) => {
        const mapped = toClientError(error, 'WaitDecision');
        if (!settled && connectionLost(mapped)) this.#reset(generation);
        settle(() => {
          reject(mapped);
        });
      });
      stream.on('end', () => {
        settle(() => {
          reject(
            new PinholeClientError('UNAVAILABLE', 'WaitDecision ended without a decision', {
              method: 'WaitDecision',
            }),
          );
        });
      });
    });
  }

  /** Closes the channel; later calls reject with CLOSED. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#client?.close();
    this.#client = undefined;
    this.#epochListeners.clear();
  }
}

/**
 * UNAVAILABLE without the server's retry hint: the connection failed (the server's own transient
 * errors carry `pinhole-retry-after-ms` and leave the channel alone).
 */
function connectionLost(e: PinholeClientError): boolean {
  return e.code === 'UNAVAILABLE' && e.retryAfterMs === undefined;
}
