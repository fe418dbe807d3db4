/**
 * One opening held by an application: its decision and lease, the renewal loop that keeps the
 * lease alive (timing.ts has the schedule), re-opening after server state loss or max lifetime,
 * and release on close. Each Opening runs one async loop; `close()` aborts it and releases.
 */
import { EventEmitter } from 'node:events';
import type { OpenResponse__Output } from '../proto/gen/pinhole/v1/OpenResponse.js';
import { PinholeClientError, classifyRenewRefusal, toClientError } from './errors.js';
import { newRequestId, type Intent } from './open-options.js';
import type {
  HoldEnd,
  LostEvent,
  OpeningEvents,
  OpeningState,
  ReopenReason,
  WaitOptions,
} from './opening-events.js';
import { awaitDecision } from './pending.js';
import {
  deniedError,
  narrowingsBetween,
  openAgain,
  releaseLease,
  termOf,
  type OpeningContext,
} from './lease-calls.js';
import {
  backoffMs,
  firstRenewalAt,
  renewalDeadline,
  renewalRetryAt,
  sleep,
  termEndMs,
  type Term,
} from './timing.js';
import { decisionFromWire, leaseFromWire, type Decision, type LeaseInfo, type Rule } from './types.js';

/**
 * An opening: the decision on an Open request and, once granted, the lease the SDK keeps alive.
 * Emits `renewed`, `narrowed`, `revoked`, `lost`, `reopened`, `error` and `closed`
 * ({@link OpeningEvents}). Obtain one from `client.open()`; end it with {@link Opening.close}.
 */
export class Opening extends EventEmitter<OpeningEvents> {
  readonly #ctx: OpeningContext;
  readonly #intent: Intent;
  readonly #abort = new AbortController();
  #state: OpeningState;
  #decision: Decision;
  #requestId: string;
  #pendingId = '';
  #lease: LeaseInfo | undefined;
  #term: Term = { startMs: 0, lifetimeMs: 0 };
  #loop: Promise<void> = Promise.resolve();
  #wake: AbortController | undefined;
  #closing: Promise<void> | undefined;
  readonly #unsubscribe: () => void;

  /** Internal: use `client.open()`. */
  constructor(
    ctx: OpeningContext,
    intent: Intent,
    requestId: string,
    first: OpenResponse__Output,
    sentAtMs: number,
  ) {
    super();
    this.#ctx = ctx;
    this.#intent = intent;
    this.#requestId = requestId;
    this.#decision = decisionFromWire(first.decision);
    this.#state = 'pending';
    this.#pendingId = first.pendingId;
    if (first.lease !== null && this.#decision.outcome !== 'PENDING') {
      this.#adopt(first, sentAtMs);
      this.#start();
    }
    // A new server_epoch seen by any call means this lease is gone: renew (and so re-open) now.
    this.#unsubscribe = ctx.transport.onEpoch((epoch) => {
      if (this.#lease !== undefined && epoch !== this.#lease.serverEpoch) this.#wake?.abort();
    });
  }

  /** Where the opening is in its life. */
  get state(): OpeningState {
    return this.#state;
  }

  /** The decision that produced the current lease (or the PENDING/DENIED answer). */
  get decision(): Decision {
    return this.#decision;
  }

  /** The current lease, undefined while pending. */
  get lease(): LeaseInfo | undefined {
    return this.#lease;
  }

  /** The current lease id, `''` while pending. */
  get leaseId(): string {
    return this.#lease?.id ?? '';
  }

  /** The concrete rules firewalls apply. */
  get rules(): readonly Rule[] {
    return this.#lease?.rules ?? [];
  }

  /** End of the current term (server clock, ms); 0 while pending. */
  get expiresAtMs(): number {
    return this.#lease?.expiresAtMs ?? 0;
  }

  /** The request id of the current lease's Open (re-opens use new ones). */
  get requestId(): string {
    return this.#requestId;
  }

  /** For a PENDING answer: the id to wait on. */
  get pendingId(): string {
    return this.#pendingId;
  }

  /**
   * Waits for the administrator's decision on a PENDING opening (WaitDecision). Resolves with the
   * decision once granted (the opening is then `open` and renewed); rejects with `DENIED`
   * (the opening becomes `denied`), `DEADLINE_EXCEEDED` after `timeoutMs`, or `CANCELLED`.
   */
  async waitForDecision(o: WaitOptions): Promise<Decision> {
    if (this.#state !== 'pending') return this.#decision;
    const signal =
      o.signal === undefined ? this.#abort.signal : AbortSignal.any([this.#abort.signal, o.signal]);
    const sent = Date.now();
    const final = await awaitDecision(this.#ctx.transport, {
      pendingId: this.#pendingId,
      requestId: this.#requestId,
      deadlineMs: sent + o.timeoutMs,
      signal,
      pollMs: this.#ctx.pollMs,
      maxRetryDelayMs: this.#ctx.maxRetryDelayMs,
      log: this.#ctx.log,
    });
    this.#decision = decisionFromWire(final.decision);
    if (final.lease === null || this.#decision.outcome === 'DENIED') {
      this.#state = 'denied';
      throw deniedError(this.#decision);
    }
    if ((this.#state as OpeningState) !== 'pending') return this.#decision; // closed meanwhile
    this.#adopt(final, sent);
    this.#start();
    return this.#decision;
  }

  /**
   * Resolves once ListMine shows the lease `realized` (every firewall in scope applied it), polling
   * every `pollMs`. Rejects with `DEADLINE_EXCEEDED` after `timeoutMs` (no firewall reported it;
   * is an enforcer running for this host?), `FAILED_PRECONDITION` if the opening ended meanwhile.
   */
  async waitRealized(o: WaitOptions): Promise<LeaseInfo> {
    const signal =
      o.signal === undefined ? this.#abort.signal : AbortSignal.any([this.#abort.signal, o.signal]);
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const lease = this.#lease;
      if (lease === undefined || (this.#state !== 'open' && this.#state !== 'lost')) {
        throw new PinholeClientError(
          'FAILED_PRECONDITION',
          `the opening is ${this.#state}; it holds no lease to wait for`,
        );
      }
      if (lease.state === 'realized') return lease;
      try {
        const mine = await this.#ctx.transport.unary(
          'ListMine',
          {},
          { deadlineMs: Math.min(deadline, Date.now() + this.#ctx.callTimeoutMs), signal },
        );
        const seen = mine.leases.find((l) => l.id === lease.id);
        if (seen !== undefined && this.#lease?.id === lease.id)
          this.#lease = { ...lease, state: leaseFromWire(seen).state };
        if (this.#lease?.state === 'realized') return this.#lease;
      } catch (e) {
        const err = toClientError(e, 'ListMine');
        if (signal.aborted || !(err.retryable || err.code === 'DEADLINE_EXCEEDED')) throw err;
      }
      if (Date.now() + this.#ctx.pollMs > deadline) {
        throw new PinholeClientError(
          'DEADLINE_EXCEEDED',
          `lease_id: ${lease.id} was not realized within ${o.timeoutMs} ms: no firewall covering it reported it applied; is an enforcer running for this host?`,
          { retryable: false },
        );
      }
      await sleep(this.#ctx.pollMs, signal);
    }
  }

  /**
   * Stops renewing and releases the lease (retrying transient failures for up to the client's
   * `closeTimeoutMs`; a lease that could not be released ends at its expiry). Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close(true);
    return this.#closing;
  }

  /**
   * Stops renewing without releasing: the lease stays open until its expiry (`expiresAtMs`), e.g.
   * for a command-line "open for ten minutes" that exits at once. Idempotent; never rejects.
   */
  detach(): Promise<void> {
    this.#closing ??= this.#close(false);
    return this.#closing;
  }

  /** `await using opening = await client.open(...)`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(release: boolean): Promise<void> {
    const was = this.#state;
    this.#state = 'closed';
    this.#abort.abort(new PinholeClientError('CLOSED', 'the opening was closed'));
    this.#unsubscribe();
    await this.#loop;
    const lease = this.#lease;
    if (release && lease !== undefined && (was === 'open' || was === 'lost'))
      await releaseLease(this.#ctx, lease.id);
    this.#ctx.forget(this);
    this.emit('closed');
  }

  #adopt(response: OpenResponse__Output, sentAtMs: number): void {
    if (response.lease === null) return;
    const lease = leaseFromWire(response.lease);
    this.#lease = lease;
    this.#decision = decisionFromWire(response.decision);
    this.#requestId = lease.requestId === '' ? this.#requestId : lease.requestId;
    this.#pendingId = '';
    this.#term = termOf(lease, sentAtMs);
    this.#state = 'open';
  }

  #start(): void {
    this.#loop = this.#run().catch((e: unknown) => {
      // Only a bug gets here: the loop handles every call failure itself.
      if (!this.#abort.signal.aborted) this.#error(toClientError(e));
    });
  }

  #error(err: PinholeClientError): void {
    this.#ctx.log.warn(
      { leaseId: this.leaseId, code: err.code, method: err.method, error: err.message },
      'opening maintenance failed; retrying',
    );
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const end = await this.#hold(signal);
      const lease = this.#lease;
      if (lease === undefined) return;
      if (end.kind === 'revoked') {
        this.#state = 'revoked';
        this.#ctx.log.warn(
          { leaseId: lease.id, by: end.by, reason: end.reason },
          'lease revoked; not re-opening',
        );
        this.emit('revoked', { leaseId: lease.id, by: end.by, reason: end.reason });
        return;
      }
      if (end.kind === 'lost') this.#lost(lease.id, end.error);
      if (!(await this.#reopen(end.kind === 'lost' ? 'lost' : end.why, signal))) return;
    }
  }

  #lost(leaseId: string, error?: PinholeClientError): void {
    this.#state = 'lost';
    const event: LostEvent = { leaseId, atMs: Date.now(), ...(error === undefined ? {} : { error }) };
    this.#ctx.log.warn({ leaseId, error: error?.message }, 'lease lost; re-opening');
    this.emit('lost', event);
  }

  /** Renews the lease until something ends it. */
  async #hold(signal: AbortSignal): Promise<HoldEnd> {
    let failures = 0;
    let at = firstRenewalAt(this.#term, this.#ctx.random());
    for (;;) {
      await this.#sleepUnlessWoken(at - Date.now(), signal);
      const lease = this.#lease;
      const term = this.#term;
      if (lease === undefined) return { kind: 'lost' };
      // Renewals never pass the max lifetime: open again now, while the old lease still holds.
      if (lease.expiresAtMs >= lease.maxLifetimeEndsAtMs) return { kind: 'reopen', why: 'max-lifetime' };
      const sent = Date.now();
      if (sent >= termEndMs(term)) return { kind: 'lost' };
      try {
        const res = await this.#ctx.transport.unary(
          'Renew',
          { leaseId: lease.id, requestedTtlSeconds: this.#intent.ttlSeconds },
          { deadlineMs: renewalDeadline(term, sent, this.#ctx.callTimeoutMs), signal },
        );
        if (res.lease === null)
          throw new PinholeClientError('INTERNAL', 'Renew returned no lease', { method: 'Renew' });
        this.#renewed(lease, leaseFromWire(res.lease), sent);
        failures = 0;
        at = firstRenewalAt(this.#term, this.#ctx.random());
      } catch (e) {
        if (signal.aborted) throw e;
        const err = toClientError(e, 'Renew');
        if (err.code === 'NOT_FOUND') return { kind: 'reopen', why: 'not-found' };
        if (err.code === 'FAILED_PRECONDITION') {
          const refusal = classifyRenewRefusal(err.message);
          if (refusal.kind === 'revoked') return { kind: 'revoked', by: refusal.by, reason: refusal.reason };
          if (refusal.kind === 'max-lifetime') return { kind: 'reopen', why: 'max-lifetime' };
        }
        this.#error(err);
        failures++;
        const next = renewalRetryAt(term, failures, Date.now(), err.retryAfterMs ?? 0);
        if (next === undefined) {
          await sleep(termEndMs(term) - Date.now(), signal, true);
          return { kind: 'lost', error: err };
        }
        at = next;
      }
    }
  }

  /** Sleeps, but wakes early (without error) when a new server epoch is seen. */
  async #sleepUnlessWoken(ms: number, signal: AbortSignal): Promise<void> {
    const wake = new AbortController();
    this.#wake = wake;
    try {
      await sleep(ms, AbortSignal.any([signal, wake.signal]), true);
    } catch (e) {
      if (signal.aborted) throw e;
    } finally {
      this.#wake = undefined;
    }
  }

  #renewed(previous: LeaseInfo, lease: LeaseInfo, sentAtMs: number): void {
    this.#lease = lease;
    this.#term = termOf(lease, sentAtMs);
    this.#ctx.log.debug({ leaseId: lease.id, expiresAtMs: lease.expiresAtMs }, 'lease renewed');
    this.emit('renewed', { lease, previousExpiresAtMs: previous.expiresAtMs });
    const narrowings = narrowingsBetween(previous, lease, this.#intent);
    if (narrowings.length > 0) this.emit('narrowed', { lease, narrowings });
  }

  /** Opens again with the same intent and a new request id. False when the opening ends instead. */
  async #reopen(why: ReopenReason, signal: AbortSignal): Promise<boolean> {
    const previous = this.#lease;
    if (previous === undefined) return false;
    // For max-lifetime the old lease still holds until its term ends; otherwise it is gone.
    const holdingUntil = why === 'max-lifetime' ? termEndMs(this.#term) : 0;
    let requestId = newRequestId();
    for (let failures = 0; ;) {
      const sent = Date.now();
      try {
        const res = await openAgain(this.#ctx, this.#intent, requestId, signal);
        const decision = decisionFromWire(res.decision);
        if (res.lease === null || decision.outcome === 'DENIED' || decision.outcome === 'PENDING') {
          this.#decision = decision;
          this.#state = 'revoked';
          const reason = `re-open denied by rule ${decision.ruleId}: ${decision.reason}`;
          this.#ctx.log.warn({ leaseId: previous.id, reason }, 'policy no longer grants the opening');
          this.emit('revoked', { leaseId: previous.id, by: 'policy', reason });
          return false;
        }
        this.#adopt(res, sent);
        const lease = this.#lease ?? leaseFromWire(res.lease);
        const reason: ReopenReason =
          why === 'not-found' && res.serverEpoch !== previous.serverEpoch ? 'new-epoch' : why;
        this.#ctx.log.info({ previousLeaseId: previous.id, leaseId: lease.id, why: reason }, 're-opened');
        this.emit('reopened', { why: reason, previousLeaseId: previous.id, lease, decision });
        const narrowings = [...decision.narrowings, ...narrowingsBetween(previous, lease, this.#intent)];
        if (narrowings.length > 0) this.emit('narrowed', { lease, narrowings });
        if (why === 'max-lifetime') void releaseLease(this.#ctx, previous.id);
        return true;
      } catch (e) {
        if (signal.aborted) throw e;
        const err = toClientError(e, 'Open');
        if (err.code === 'ALREADY_EXISTS') requestId = newRequestId();
        this.#error(err);
        if (this.#state === 'open' && Date.now() >= holdingUntil) this.#lost(previous.id, err);
        failures++;
        await sleep(
          backoffMs(failures, 500, this.#ctx.maxRetryDelayMs, this.#ctx.random(), err.retryAfterMs),
          signal,
          true,
        );
      }
    }
  }
}
