/**
 * The lease engine: the only writer of lease state. Open decides through policy and commits the
 * lease, its idempotency answer and its audit record in one store commit; the answer is returned
 * only after that commit is durable.
 */
import type { Logger } from 'pino';
import { PinholeError, isPinholeError } from '../core/errors.js';
import type { CertificateRef, EndReason, Lease, OpenAnswer, OpenRequest } from '../core/types.js';
import type { AuditInput } from '../audit/record.js';
import type { PolicyEvaluator, RequesterFacts } from '../policy/api.js';
import type { Mutation, PendingRecord, Store } from '../store/store.js';
import { requireRole, type Caller } from './caller.js';
import type { HostDirectoryCache } from './host-directory.js';
import { newId } from './ids.js';
import { buildLease, signLease, type ReceiptSigner } from './lease-factory.js';
import { callerAudit, serverAudit } from './audit-entries.js';
import type { HostQuotas } from '../limits/quotas.js';
import { failpoint } from '../failpoints.js';

export type { ReceiptSigner };
import { requestHash } from './request-hash.js';
import { checkDestinations, replayAnswer } from './open-checks.js';
import { livePages } from './live-pages.js';

/** Leases read per page by the passes over every live lease (recheckAll, endOpenedByRefused). */
const PASS_PAGE = 1000;

export interface LeaseEngineOptions {
  readonly store: Store;
  /** The current policy; read on every request so a reload takes effect at once. */
  readonly policy: () => PolicyEvaluator;
  readonly directory: HostDirectoryCache;
  readonly log: Logger;
  readonly receipts?: ReceiptSigner;
  /** How long a PENDING request waits for an admin. Default 1 hour. */
  readonly pendingTimeoutMs?: number;
  readonly now?: () => number;
  /** Live-lease and pending-request quotas per host (server/limits); none when absent. */
  readonly quotas?: HostQuotas;
  /**
   * Why the certificate a request came with is no longer trusted (server/identity/certificate-guard.ts
   * openerRefusal), or undefined: what endOpenedByRefused judges live leases by, and checked again
   * after a grant's commit (a CRL reloaded while the Open was on its way to the store starts a
   * revocation pass that cannot see the lease yet).
   */
  readonly openerRefusal?: (certificate: CertificateRef) => string | undefined;
}

export class LeaseEngine {
  readonly #store: Store;
  readonly #policy: () => PolicyEvaluator;
  readonly #directory: HostDirectoryCache;
  readonly #log: Logger;
  readonly #receipts: ReceiptSigner | undefined;
  readonly #pendingTimeoutMs: number;
  readonly #now: () => number;
  readonly #quotas: HostQuotas | undefined;
  readonly #openerRefusal: (certificate: CertificateRef) => string | undefined;

  constructor(o: LeaseEngineOptions) {
    this.#store = o.store;
    this.#policy = o.policy;
    this.#directory = o.directory;
    this.#log = o.log;
    this.#receipts = o.receipts;
    this.#pendingTimeoutMs = o.pendingTimeoutMs ?? 3_600_000;
    this.#now = o.now ?? Date.now;
    this.#quotas = o.quotas;
    this.#openerRefusal = o.openerRefusal ?? ((): undefined => undefined);
  }

  get epoch(): string {
    return this.#store.epoch;
  }

  async open(caller: Caller, request: OpenRequest): Promise<OpenAnswer> {
    requireRole(caller, 'host', 'Open');
    const { identity } = caller;
    const hash = requestHash(request);
    const previous = await this.#store.findAnswer(identity.name, request.requestId);
    if (previous !== undefined)
      return replayAnswer(previous.requestHash, hash, request.requestId, previous.answer);

    const now = this.#now();
    await this.#directory.observe(identity.name, identity.addresses, now);
    const requester: RequesterFacts = { name: identity.name, addresses: identity.addresses };
    const policy = this.#policy();
    checkDestinations(requester, request, policy, this.#directory);
    const decision = policy.decide(requester, request, this.#directory, now);

    let lease: Lease | undefined;
    let pending: PendingRecord | undefined;
    if (decision.outcome === 'GRANTED' || decision.outcome === 'PARTIAL') {
      lease = await this.#sign(buildLease(identity.name, request, decision, now, caller.certificate));
    } else if (decision.outcome === 'PENDING') {
      pending = {
        id: newId('pnd', now),
        host: identity.name,
        addresses: identity.addresses,
        request,
        decision,
        createdAtMs: now,
        expiresAtMs: now + this.#pendingTimeoutMs,
        state: 'waiting',
        ...(caller.certificate === undefined ? {} : { openedBy: caller.certificate }),
      };
    }
    const answer: OpenAnswer = {
      decision,
      serverEpoch: this.#store.epoch,
      ...(lease === undefined ? {} : { lease }),
      ...(pending === undefined ? {} : { pendingId: pending.id }),
    };
    const mutation: Mutation = {
      ...(lease === undefined ? {} : { leases: [{ kind: 'put' as const, lease }] }),
      ...(pending === undefined ? {} : { pending }),
      answer: { host: identity.name, requestId: request.requestId, requestHash: hash, answer },
      audit: [
        callerAudit(caller, 'open', now, {
          requestId: request.requestId,
          leaseId: lease?.id ?? '',
          outcome: decision.outcome,
          ruleId: decision.ruleId,
          detail: {
            reason: decision.reason,
            openings: request.openings,
            requestedTtlSeconds: request.requestedTtlSeconds,
            description: request.description,
            ...(decision.narrowings.length > 0 ? { narrowings: decision.narrowings } : {}),
            ...(pending === undefined ? {} : { pendingId: pending.id }),
            ...(lease === undefined ? {} : { rules: lease.rules, expiresAtMs: lease.expiresAtMs }),
          },
        }),
      ],
    };
    // Quotas are checked after the decision (only what would be held counts) and held until the commit.
    const held = lease !== undefined ? 'lease' : pending !== undefined ? 'pending' : undefined;
    const releaseQuota =
      held === undefined || this.#quotas === undefined
        ? undefined
        : // The quota reports a refusal to the request log itself (coalesced: server/limits/refusal-log.ts).
          await this.#quotas.reserve(identity.name, held, {
            peer: caller.peer,
            requestId: request.requestId,
          });
    try {
      const result = await this.#store.commit(mutation);
      failpoint('after-commit-before-reply');
      const committed = result.answer ?? answer;
      if (committed.lease !== undefined) await this.#withdrawIfOpenerRefused(committed.lease);
      return committed;
    } catch (e) {
      // Two concurrent retries of one request: the loser returns the winner's answer.
      if (isPinholeError(e) && e.code === 'ALREADY_EXISTS') {
        const winner = await this.#store.findAnswer(identity.name, request.requestId);
        if (winner !== undefined)
          return replayAnswer(winner.requestHash, hash, request.requestId, winner.answer);
      }
      throw e;
    } finally {
      releaseQuota?.();
    }
  }

  /**
   * Ends a lease just granted whose certificate was revoked (or its CA removed) while the request
   * was in flight, and refuses the request as the next call would be refused.
   */
  async #withdrawIfOpenerRefused(lease: Lease): Promise<void> {
    const why = lease.openedBy === undefined ? undefined : this.#openerRefusal(lease.openedBy);
    if (why === undefined) return;
    try {
      await this.#end(lease, 'revoked', 'server', 'certificate-revoke', why);
    } catch (e) {
      // Changed meanwhile: the revocation pass ended it first.
      if (!(isPinholeError(e) && e.code === 'FAILED_PRECONDITION')) throw e;
    }
    throw new PinholeError(
      'UNAUTHENTICATED',
      `lease ${lease.id} was withdrawn as soon as it was granted: ${why} while the request was on its way; ask for a new certificate and open again with it`,
    );
  }

  #sign(lease: Lease): Promise<Lease> {
    return signLease(lease, this.#receipts);
  }

  /** A live lease owned by the caller, or NOT_FOUND telling the client to open again. */
  async #ownedLease(caller: Caller, leaseId: string): Promise<Lease> {
    const lease = await this.#store.getLease(leaseId);
    if (lease?.host !== caller.identity.name) {
      throw new PinholeError(
        'NOT_FOUND',
        `lease_id: ${leaseId} is not a lease of host ${caller.identity.name}; Open again`,
        {
          field: 'lease_id',
        },
      );
    }
    return lease;
  }

  async renew(caller: Caller, leaseId: string, requestedTtlSeconds: number): Promise<Lease> {
    requireRole(caller, 'host', 'Renew');
    const lease = await this.#ownedLease(caller, leaseId);
    if (lease.state === 'ended') {
      // Revoked leases are not to be re-opened behind the admin's back: a distinct, permanent code.
      if (lease.endReason === 'revoked' || lease.endReason === 'policy') {
        throw new PinholeError(
          'FAILED_PRECONDITION',
          `lease_id: ${leaseId} was ${lease.endReason === 'revoked' ? 'revoked by an administrator' : 'ended by a policy change'}: ${lease.endDetail ?? 'no reason given'}`,
          { field: 'lease_id' },
        );
      }
      throw new PinholeError(
        'NOT_FOUND',
        `lease_id: ${leaseId} has ended (${lease.endReason ?? 'ended'}); Open again`,
        {
          field: 'lease_id',
        },
      );
    }
    const now = this.#now();
    // A term that ran out is over even before the sweeper records it: firewalls' kernel
    // timeouts may already have closed it, so a renewal must not quietly revive it.
    if (lease.expiresAtMs <= now) {
      throw new PinholeError(
        'NOT_FOUND',
        `lease_id: ${leaseId} expired at ${new Date(lease.expiresAtMs).toISOString()}; Open again`,
        {
          field: 'lease_id',
        },
      );
    }
    if (lease.expiresAtMs >= lease.maxLifetimeEndsAtMs) {
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `lease_id: ${leaseId} reached its max lifetime (ends ${new Date(lease.maxLifetimeEndsAtMs).toISOString()}); Open again so policy is checked anew`,
        { field: 'lease_id' },
      );
    }
    const ttl = this.#policy().renewTtlSeconds(lease.ruleId, requestedTtlSeconds || lease.ttlSeconds, lease);
    const renewed = await this.#sign({
      ...lease,
      ttlSeconds: ttl,
      expiresAtMs: Math.min(now + ttl * 1000, lease.maxLifetimeEndsAtMs),
      renewedAtMs: now,
    });
    const result = await this.#store.commit({
      expect: [{ leaseId, revision: lease.revision }],
      leases: [{ kind: 'put', lease: renewed }],
      audit: [
        callerAudit(caller, 'renew', now, {
          requestId: lease.requestId,
          leaseId,
          outcome: 'OK',
          ruleId: lease.ruleId,
          detail: { ttlSeconds: ttl, expiresAtMs: renewed.expiresAtMs },
        }),
      ],
    });
    return result.leases[0] ?? renewed;
  }

  async release(caller: Caller, leaseId: string): Promise<Lease> {
    requireRole(caller, 'host', 'Release');
    const lease = await this.#ownedLease(caller, leaseId);
    if (lease.state === 'ended') return lease; // releasing twice is not an error
    return this.#end(lease, 'released', caller, 'release', '');
  }

  async listMine(caller: Caller): Promise<Lease[]> {
    requireRole(caller, 'host', 'ListMine');
    return this.#store.listLeases({ host: caller.identity.name });
  }

  /** Admin revocation. */
  async revoke(caller: Caller, leaseId: string, reason: string): Promise<Lease> {
    requireRole(caller, 'admin', 'Revoke');
    const lease = await this.#store.getLease(leaseId);
    if (lease === undefined)
      throw new PinholeError('NOT_FOUND', `lease_id: ${leaseId} does not exist`, { field: 'lease_id' });
    if (lease.state === 'ended') return lease;
    return this.#end(lease, 'revoked', caller, 'revoke', reason);
  }

  async #end(
    lease: Lease,
    reason: EndReason,
    caller: Caller | 'server',
    action: AuditInput['action'],
    why: string,
  ): Promise<Lease> {
    const now = this.#now();
    const audit =
      caller === 'server'
        ? serverAudit(action, now, lease, why)
        : callerAudit(caller, action, now, {
            requestId: lease.requestId,
            leaseId: lease.id,
            outcome: 'OK',
            ruleId: lease.ruleId,
            detail: why === '' ? { host: lease.host } : { host: lease.host, reason: why },
          });
    const result = await this.#store.commit({
      expect: [{ leaseId: lease.id, revision: lease.revision }],
      leases: [{ kind: 'end', lease, reason, ...(why === '' ? {} : { detail: why }) }],
      audit: [audit],
    });
    return result.leases[0] ?? lease;
  }

  /** Ends every live lease whose term is over. Returns how many ended. */
  async expireDue(batchSize = 500): Promise<number> {
    let ended = 0;
    for (;;) {
      const due = await this.#store.dueForExpiry(this.#now(), batchSize);
      if (due.length === 0) return ended;
      const results = await Promise.allSettled(
        due.map((l) => this.#end(l, 'expired', 'server', 'expire', 'term ended without renewal')),
      );
      for (const [i, r] of results.entries()) {
        const lease = due[i];
        if (r.status === 'fulfilled' && lease !== undefined) {
          ended++;
          this.#log.info(
            { leaseId: lease.id, host: lease.host, expiresAtMs: lease.expiresAtMs },
            'lease expired',
          );
        } else if (
          r.status === 'rejected' &&
          !(isPinholeError(r.reason) && r.reason.code === 'FAILED_PRECONDITION')
        ) {
          throw r.reason; // a renewal racing the sweep is fine; anything else is not
        }
      }
      if (due.length < batchSize) return ended;
    }
  }

  /**
   * Re-checks every live lease against the current policy: revokes or shortens. Reads the store a
   * page at a time by id (a keyset cursor), so a reload with 100,000 live leases holds one page in
   * memory, not all of them, and every lease that lives throughout the pass is checked once.
   */
  async recheckAll(): Promise<{ revoked: number; shortened: number }> {
    const policy = this.#policy();
    const now = this.#now();
    const counts = { revoked: 0, shortened: 0 };
    for await (const page of livePages(this.#store, PASS_PAGE)) {
      for (const lease of page) await this.#recheck(lease, policy, now, counts);
    }
    return counts;
  }

  /**
   * Ends, as revoked, every live lease whose opening certificate openerRefusal now refuses (a
   * reloaded CRL revokes it, or its CA left the bundle): the certificate may have been stolen, so
   * what it asked for is withdrawn, not left to run out. Leases the host opened with another
   * certificate stay. Returns how many ended.
   */
  async endOpenedByRefused(): Promise<number> {
    let ended = 0;
    for await (const page of livePages(this.#store, PASS_PAGE)) {
      for (const lease of page) if (await this.#revokeIfOpenerRefused(lease)) ended++;
    }
    return ended;
  }

  /** One lease of endOpenedByRefused; a renewal racing it is retried on the lease as it then is. */
  async #revokeIfOpenerRefused(first: Lease): Promise<boolean> {
    for (let lease: Lease | undefined = first, attempt = 0; lease !== undefined; attempt++) {
      const why =
        lease.state === 'ended' || lease.openedBy === undefined
          ? undefined
          : this.#openerRefusal(lease.openedBy);
      if (why === undefined) return false;
      try {
        await this.#end(lease, 'revoked', 'server', 'certificate-revoke', why);
        this.#log.info(
          { leaseId: lease.id, host: lease.host, reason: why },
          'lease revoked with its certificate',
        );
        return true;
      } catch (e) {
        if (!(isPinholeError(e) && e.code === 'FAILED_PRECONDITION') || attempt >= 4) throw e;
        lease = await this.#store.getLease(lease.id);
      }
    }
    return false;
  }

  /** One lease of recheckAll: revoked or shortened as the policy now says; gone meanwhile is skipped. */
  async #recheck(
    lease: Lease,
    policy: PolicyEvaluator,
    now: number,
    counts: { revoked: number; shortened: number },
  ): Promise<void> {
    const addresses = this.#directory.addressesOf(lease.host) ?? [];
    const verdict = policy.recheck(lease, { name: lease.host, addresses }, this.#directory, now);
    try {
      if (!verdict.keep) {
        await this.#end(lease, 'policy', 'server', 'policy-revoke', `${verdict.ruleId}: ${verdict.reason}`);
        this.#log.info(
          { leaseId: lease.id, host: lease.host, ruleId: verdict.ruleId, reason: verdict.reason },
          'lease revoked by policy',
        );
        counts.revoked++;
      } else if (verdict.maxExpiresAtMs !== undefined && verdict.maxExpiresAtMs < lease.expiresAtMs) {
        const changed = await this.#sign({ ...lease, expiresAtMs: verdict.maxExpiresAtMs });
        await this.#store.commit({
          expect: [{ leaseId: lease.id, revision: lease.revision }],
          leases: [{ kind: 'put', lease: changed }],
          audit: [
            serverAudit(
              'policy-shorten',
              now,
              changed,
              `expiry shortened to ${new Date(changed.expiresAtMs).toISOString()}`,
            ),
          ],
        });
        counts.shortened++;
      }
    } catch (e) {
      if (!(isPinholeError(e) && e.code === 'FAILED_PRECONDITION')) throw e;
    }
  }

  /** Records audit entries that change no lease (enforcer status, policy reloads). */
  async record(entries: readonly AuditInput[]): Promise<void> {
    await this.#store.commit({ audit: entries });
  }
}
