/**
 * The opening client for applications: `createClient(...)`, then `client.open(...)` at startup.
 * One mTLS channel per client, shared by its openings; `close()` releases everything it holds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChannelOptions } from '@grpc/grpc-js';
import type { OpenResponse__Output } from '../proto/gen/pinhole/v1/OpenResponse.js';
import { PinholeClientError, toClientError } from './errors.js';
import { releaseOnSignals } from './exit.js';
import {
  checkRequestId,
  newRequestId,
  toIntent,
  toOpenRequest,
  type Intent,
  type OpenOptions,
} from './open-options.js';
import { deniedError, type OpeningContext } from './lease-calls.js';
import { Opening } from './opening.js';
import { abortError, backoffMs, sleep } from './timing.js';
import { Transport } from './transport.js';
import {
  SILENT_LOGGER,
  decisionFromWire,
  leaseFromWire,
  type ClientLogger,
  type LeaseInfo,
} from './types.js';
import type { ClientTls } from './wire.js';

/** PEM material for the client's mTLS identity (Buffers or PEM strings). */
export interface TlsOptions {
  readonly ca: Buffer | string;
  readonly cert: Buffer | string;
  readonly key: Buffer | string;
}

/** Options of {@link createClient}. Give `certDir` (with `identity`) or `tls`. */
export interface ClientOptions {
  /** The Pinhole server, `host:port` (e.g. `127.0.0.1:7443`). */
  readonly server: string;
  /** A certificate directory as written by `pinhole certs init` (holds `ca.crt`, `<identity>.crt`, `<identity>.key`). */
  readonly certDir?: string;
  /**
   * The certificate file base in `certDir`, e.g. `host-web-1` (`web-1` also works). Default: the
   * only `host-*.crt` in `certDir`.
   */
  readonly identity?: string;
  /** PEM material instead of `certDir`. */
  readonly tls?: TlsOptions;
  /** Where the SDK logs (a pino logger fits). Default: silent. */
  readonly logger?: ClientLogger;
  /** Release every lease on SIGINT/SIGTERM, then exit as the signal would have. Default false. */
  readonly releaseOnExit?: boolean;
  /** Deadline of one call, ms. Default 10 000. */
  readonly callTimeoutMs?: number;
  /** How long `open()` retries transient failures with the same request id, ms. Default 30 000. */
  readonly openTimeoutMs?: number;
  /** Longest wait between retries (re-opening, waiting for a decision), ms. Default 30 000. */
  readonly maxRetryDelayMs?: number;
  /** Poll interval of ListMine for `waitFor: 'realized'` (and for approvals on servers without WaitDecision), ms. Default 250. */
  readonly pollMs?: number;
  /** Default bound on `waitFor: 'realized'`, ms. Default 30 000. */
  readonly realizedTimeoutMs?: number;
  /** How long `close()` retries releasing a lease, ms. Default 5 000. */
  readonly closeTimeoutMs?: number;
  /** Extra gRPC channel options. */
  readonly channelOptions?: ChannelOptions;
}

interface Settings {
  readonly callTimeoutMs: number;
  readonly openTimeoutMs: number;
  readonly maxRetryDelayMs: number;
  readonly pollMs: number;
  readonly realizedTimeoutMs: number;
  readonly closeTimeoutMs: number;
}

/** Reads the client's TLS material from options (certDir + identity, or tls). */
export function resolveTls(o: Pick<ClientOptions, 'certDir' | 'identity' | 'tls'>): ClientTls {
  if (o.tls !== undefined) {
    const buf = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);
    return { ca: buf(o.tls.ca), cert: buf(o.tls.cert), key: buf(o.tls.key) };
  }
  if (o.certDir === undefined)
    throw new PinholeClientError('INVALID_ARGUMENT', 'certDir: give certDir (with identity) or tls');
  const dir = o.certDir;
  let base = o.identity;
  if (base === undefined) {
    const hosts = existsSync(dir) ? readdirSync(dir).filter((f) => /^host-.+\.crt$/.test(f)) : [];
    if (hosts.length !== 1) {
      throw new PinholeClientError(
        'INVALID_ARGUMENT',
        `identity: ${dir} holds ${hosts.length === 0 ? 'no host certificate' : `several host certificates (${hosts.join(', ')})`}; name one, e.g. identity: 'host-web-1'`,
      );
    }
    base = (hosts[0] ?? '').replace(/\.crt$/, '');
  } else if (!existsSync(join(dir, `${base}.crt`)) && existsSync(join(dir, `host-${base}.crt`))) {
    base = `host-${base}`;
  }
  const read = (name: string): Buffer => {
    const path = join(dir, name);
    if (!existsSync(path))
      throw new PinholeClientError(
        'INVALID_ARGUMENT',
        `certDir: ${path} is missing; run \`pinhole certs init\` or check identity`,
      );
    return readFileSync(path);
  };
  return { ca: read('ca.crt'), cert: read(`${base}.crt`), key: read(`${base}.key`) };
}

/** Creates a client. Nothing connects until the first call. */
export function createClient(options: ClientOptions): PinholeClient {
  return new PinholeClient(options);
}

/**
 * A connection to a Pinhole server on behalf of one host identity. Holds the openings it made and
 * releases them on {@link PinholeClient.close}.
 */
export class PinholeClient {
  readonly #transport: Transport;
  readonly #log: ClientLogger;
  readonly #settings: Settings;
  readonly #openings = new Set<Opening>();
  readonly #abort = new AbortController();
  readonly #context: OpeningContext;
  #epoch = '';
  #uninstallSignals: () => void = () => undefined;
  #closing: Promise<void> | undefined;

  /** Prefer {@link createClient}. */
  constructor(options: ClientOptions) {
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#settings = {
      callTimeoutMs: positive(options.callTimeoutMs, 10_000, 'callTimeoutMs'),
      openTimeoutMs: positive(options.openTimeoutMs, 30_000, 'openTimeoutMs'),
      maxRetryDelayMs: positive(options.maxRetryDelayMs, 30_000, 'maxRetryDelayMs'),
      pollMs: positive(options.pollMs, 250, 'pollMs'),
      realizedTimeoutMs: positive(options.realizedTimeoutMs, 30_000, 'realizedTimeoutMs'),
      closeTimeoutMs: positive(options.closeTimeoutMs, 5_000, 'closeTimeoutMs'),
    };
    this.#transport = new Transport(options.server, resolveTls(options), options.channelOptions ?? {});
    this.#transport.onEpoch((epoch) => {
      if (this.#epoch !== '' && epoch !== this.#epoch)
        this.#log.warn(
          { previous: this.#epoch, epoch },
          'server epoch changed: the server lost its lease state',
        );
      this.#epoch = epoch;
    });
    this.#context = {
      transport: this.#transport,
      log: this.#log,
      callTimeoutMs: this.#settings.callTimeoutMs,
      maxRetryDelayMs: this.#settings.maxRetryDelayMs,
      pollMs: this.#settings.pollMs,
      closeTimeoutMs: this.#settings.closeTimeoutMs,
      random: Math.random,
      forget: (o) => this.#openings.delete(o as Opening),
    };
    if (options.releaseOnExit === true)
      this.#uninstallSignals = releaseOnSignals(() => this.close(), this.#log);
  }

  /** The last `server_epoch` seen (`''` before the first answer). */
  get serverEpoch(): string {
    return this.#epoch;
  }

  /** The openings this client holds (not yet closed). */
  get openings(): readonly Opening[] {
    return [...this.#openings];
  }

  /**
   * Asks for an opening and resolves with it once granted (or, with `waitFor: 'realized'`, once
   * firewalls applied it). A PENDING answer resolves at once unless `pendingTimeoutMs` is given.
   * Transient failures are retried with the same request id (the server answers a retry with its
   * first answer) for up to `openTimeoutMs`.
   *
   * Rejects with {@link PinholeClientError}: `DENIED` (policy refused; see `error.decision`),
   * `INVALID_ARGUMENT` / `PERMISSION_DENIED` (fix the request or the certificate), `UNAVAILABLE`
   * (the server stayed unreachable), `DEADLINE_EXCEEDED` (no decision or not realized in time),
   * `CANCELLED` (`signal` aborted) or `CLOSED` (the client was closed). A lease granted on the way
   * to a rejection is released.
   */
  async open(options: OpenOptions): Promise<Opening> {
    if (this.#closing !== undefined) throw new PinholeClientError('CLOSED', 'the Pinhole client is closed');
    const intent = toIntent(options);
    const requestId = options.requestId === undefined ? newRequestId() : checkRequestId(options.requestId);
    const signal =
      options.signal === undefined
        ? this.#abort.signal
        : AbortSignal.any([this.#abort.signal, options.signal]);
    const deadline = Date.now() + (options.openTimeoutMs ?? this.#settings.openTimeoutMs);
    const { response, sentAtMs } = await this.#openWithRetry(intent, requestId, deadline, signal);
    const decision = decisionFromWire(response.decision);
    if (decision.outcome === 'DENIED' || (decision.outcome !== 'PENDING' && response.lease === null))
      throw deniedError(decision);
    const opening = new Opening(this.#context, intent, requestId, response, sentAtMs);
    this.#openings.add(opening);
    this.#log.info(
      { requestId, outcome: decision.outcome, leaseId: opening.leaseId, ruleId: decision.ruleId },
      'opened',
    );
    try {
      const waitOptions = options.signal === undefined ? {} : { signal: options.signal };
      const pendingTimeoutMs = options.pendingTimeoutMs ?? 0;
      if (opening.state === 'pending' && pendingTimeoutMs > 0)
        await opening.waitForDecision({ timeoutMs: pendingTimeoutMs, ...waitOptions });
      if (options.waitFor === 'realized' && opening.state === 'open') {
        await opening.waitRealized({
          timeoutMs: options.realizedTimeoutMs ?? this.#settings.realizedTimeoutMs,
          ...waitOptions,
        });
      }
    } catch (e) {
      await opening.close();
      throw toClientError(e);
    }
    return opening;
  }

  async #openWithRetry(
    intent: Intent,
    requestId: string,
    deadline: number,
    signal: AbortSignal,
  ): Promise<{ response: OpenResponse__Output; sentAtMs: number }> {
    const request = toOpenRequest(intent, requestId);
    for (let attempt = 1; ; attempt++) {
      const sentAtMs = Date.now();
      try {
        const response = await this.#transport.unary('Open', request, {
          deadlineMs: Math.min(deadline, sentAtMs + this.#settings.callTimeoutMs),
          signal,
        });
        return { response, sentAtMs };
      } catch (e) {
        if (signal.aborted) throw abortError(signal, 'open');
        const err = toClientError(e, 'Open');
        const wait = backoffMs(attempt, 250, this.#settings.maxRetryDelayMs, Math.random(), err.retryAfterMs);
        if (!err.retryable || Date.now() + wait >= deadline) throw err;
        this.#log.info(
          { requestId, attempt, code: err.code, waitMs: Math.round(wait) },
          'open failed; retrying with the same request id',
        );
        await sleep(wait, signal);
      }
    }
  }

  /** The caller's live leases, as the server sees them (`state` shows `realized`). */
  async listMine(options: { readonly signal?: AbortSignal } = {}): Promise<LeaseInfo[]> {
    const response = await this.#transport.unary(
      'ListMine',
      {},
      { deadlineMs: Date.now() + this.#settings.callTimeoutMs, ...options },
    );
    return response.leases.map(leaseFromWire);
  }

  /**
   * Releases every opening (in parallel, each bounded by `closeTimeoutMs`), cancels `open()` calls
   * in progress and closes the channel. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** `await using client = createClient(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    this.#uninstallSignals();
    this.#abort.abort(new PinholeClientError('CLOSED', 'the Pinhole client was closed'));
    await Promise.all([...this.#openings].map((o) => o.close()));
    this.#transport.close();
  }
}

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new PinholeClientError(
      'INVALID_ARGUMENT',
      `${field}: ${value} must be a positive number of milliseconds`,
    );
  return value;
}
