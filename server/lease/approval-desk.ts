/**
 * Manual approvals: a PENDING request waits for an admin, who approves it (optionally with a
 * shorter TTL or narrower sources) or denies it with a reason; unanswered requests expire.
 * The host follows its request with WaitDecision.
 */
import { EventEmitter, on } from 'node:events';
import ipaddr from 'ipaddr.js';
import { PinholeError, invalid } from '../core/errors.js';
import { parseCidr } from '../core/addresses.js';
import type { CertificateRef, ConcreteRule, Decision, Lease, OpenAnswer } from '../core/types.js';
import type { PendingRecord, Store } from '../store/store.js';
import { requireRole, type Caller } from './caller.js';
import { callerAudit, serverDenial } from './audit-entries.js';
import { buildLease, signLease, type ReceiptSigner } from './lease-factory.js';

export interface ApprovalAdjustments {
  /** 0 or absent = as decided; otherwise at most the decided TTL. */
  readonly ttlSeconds?: number;
  /** Empty or absent = as decided; otherwise CIDRs inside the decided sources. */
  readonly sourceCidrs?: readonly string[];
  readonly comment?: string;
}

export interface ApprovalDeskOptions {
  readonly store: Store;
  readonly receipts?: ReceiptSigner;
  /** How often a WaitDecision stream re-reads the store (decisions made by another server). */
  readonly pollMs?: number;
  readonly now?: () => number;
  /**
   * Why the certificate that asked for a pending request may no longer be trusted (revoked, or its
   * CA removed), or undefined: such a request cannot be approved (server/identity/certificate-guard.ts).
   */
  readonly openerRefusal?: (certificate: CertificateRef) => string | undefined;
}

export class ApprovalDesk {
  readonly #store: Store;
  readonly #receipts: ReceiptSigner | undefined;
  readonly #pollMs: number;
  readonly #now: () => number;
  readonly #openerRefusal: (certificate: CertificateRef) => string | undefined;
  readonly #decided = new EventEmitter();

  constructor(o: ApprovalDeskOptions) {
    this.#store = o.store;
    this.#receipts = o.receipts;
    this.#pollMs = o.pollMs ?? 1000;
    this.#now = o.now ?? Date.now;
    this.#openerRefusal = o.openerRefusal ?? ((): undefined => undefined);
    this.#decided.setMaxListeners(0);
  }

  async #waiting(pendingId: string): Promise<PendingRecord> {
    const p = await this.#store.getPending(pendingId);
    if (p === undefined)
      throw new PinholeError('NOT_FOUND', `pending_id: ${pendingId} does not exist`, { field: 'pending_id' });
    if (p.state !== 'waiting') {
      throw new PinholeError('FAILED_PRECONDITION', `pending_id: ${pendingId} was already ${p.state}`, {
        field: 'pending_id',
      });
    }
    return p;
  }

  async list(caller: Caller): Promise<PendingRecord[]> {
    requireRole(caller, 'admin', 'ListPending');
    return this.#store.listPending('waiting');
  }

  async approve(caller: Caller, pendingId: string, adj: ApprovalAdjustments): Promise<OpenAnswer> {
    requireRole(caller, 'admin', 'Approve');
    const p = await this.#waiting(pendingId);
    const opener = p.openedBy === undefined ? undefined : this.#openerRefusal(p.openedBy);
    if (opener !== undefined) {
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `pending_id: ${pendingId} cannot be approved: ${opener}; the host must ask again with a valid certificate`,
        { field: 'pending_id' },
      );
    }
    const decided = p.decision;
    const ttl = adj.ttlSeconds ?? 0;
    if (ttl > decided.ttlSeconds) {
      throw invalid(
        'ttl_seconds',
        `${ttl} exceeds the ${decided.ttlSeconds} s policy proposed; an approval may only shorten it`,
      );
    }
    const rules = narrowSources(decided.rules, adj.sourceCidrs ?? []);
    const narrowed = ttl > 0 || rules !== decided.rules;
    const comment = adj.comment ?? '';
    const decision: Decision = {
      ...decided,
      outcome: 'GRANTED',
      reason: `approved by ${caller.identity.name}${comment === '' ? '' : `: ${comment}`}${narrowed ? ' (narrowed on approval)' : ''}`,
      rules,
      ttlSeconds: ttl > 0 ? ttl : decided.ttlSeconds,
    };
    const now = this.#now();
    const lease = await signLease(buildLease(p.host, p.request, decision, now, p.openedBy), this.#receipts);
    const answer: OpenAnswer = { decision, lease, serverEpoch: this.#store.epoch };
    const result = await this.#store.commit({
      leases: [{ kind: 'put', lease }],
      pending: { ...p, state: 'approved', answer },
      audit: [
        callerAudit(caller, 'approve', now, {
          requestId: p.request.requestId,
          leaseId: lease.id,
          outcome: 'GRANTED',
          ruleId: decided.ruleId,
          detail: { pendingId, host: p.host, ttlSeconds: decision.ttlSeconds, rules, comment },
        }),
      ],
    });
    const final = { ...answer, lease: result.leases[0] ?? lease };
    // Revoked while this approval was being signed and committed: a revocation pass that ran
    // meanwhile could not see the lease yet, so it is withdrawn here and the request denied.
    const revoked = p.openedBy === undefined ? undefined : this.#openerRefusal(p.openedBy);
    if (revoked !== undefined) return this.#withdraw(p, final.lease, revoked, now);
    // The stored pending answer holds the unstamped lease; the stream sends the stamped one.
    this.#decided.emit(pendingId, final);
    return final;
  }

  async #withdraw(p: PendingRecord, lease: Lease, why: string, now: number): Promise<never> {
    const answer = this.#denied(p, `denied by the server: ${why}`);
    await this.#store.commit({
      expect: [{ leaseId: lease.id, revision: lease.revision }],
      leases: [{ kind: 'end', lease, reason: 'revoked', detail: why }],
      pending: { ...p, state: 'denied', answer },
      audit: [serverDenial('certificate-revoke', now, p, lease.id, { reason: why })],
    });
    this.#decided.emit(p.id, answer);
    throw new PinholeError(
      'FAILED_PRECONDITION',
      `pending_id: ${p.id} cannot be approved: ${why}; the host must ask again with a valid certificate`,
      { field: 'pending_id' },
    );
  }

  async deny(caller: Caller, pendingId: string, reason: string): Promise<OpenAnswer> {
    requireRole(caller, 'admin', 'Deny');
    if (reason.trim() === '')
      throw invalid('reason', 'is empty; say why the request is denied (the host sees it)');
    const p = await this.#waiting(pendingId);
    const now = this.#now();
    const answer = this.#denied(p, `denied by ${caller.identity.name}: ${reason}`);
    await this.#store.commit({
      pending: { ...p, state: 'denied', answer },
      audit: [
        callerAudit(caller, 'deny', now, {
          requestId: p.request.requestId,
          leaseId: '',
          outcome: 'DENIED',
          ruleId: p.decision.ruleId,
          detail: { pendingId, host: p.host, reason },
        }),
      ],
    });
    this.#decided.emit(pendingId, answer);
    return answer;
  }

  #denied(p: PendingRecord, reason: string): OpenAnswer {
    const decision: Decision = {
      ...p.decision,
      outcome: 'DENIED',
      reason,
      rules: [],
      ttlSeconds: 0,
      maxLifetimeSeconds: 0,
    };
    return { decision, serverEpoch: this.#store.epoch };
  }

  /** Ends pending requests nobody decided in time. */
  async expireDue(): Promise<number> {
    const now = this.#now();
    const due = (await this.#store.listPending('waiting')).filter((p) => p.expiresAtMs <= now);
    for (const p of due) {
      const answer = this.#denied(
        p,
        `no administrator decided within the approval window (until ${new Date(p.expiresAtMs).toISOString()})`,
      );
      await this.#store.commit({
        pending: { ...p, state: 'expired', answer },
        audit: [serverDenial('pending-expire', now, p, '', {})],
      });
      this.#decided.emit(p.id, answer);
    }
    return due.length;
  }

  /**
   * Denies every waiting request whose certificate openerRefusal now refuses (see endOpenedByRefused
   * in lease-engine.ts); the host's WaitDecision stream gets the denial. Returns how many.
   */
  async denyOpenedByRefused(): Promise<number> {
    const now = this.#now();
    let denied = 0;
    for (const p of await this.#store.listPending('waiting')) {
      const why = p.openedBy === undefined ? undefined : this.#openerRefusal(p.openedBy);
      if (why === undefined) continue;
      const answer = this.#denied(p, `denied by the server: ${why}`);
      await this.#store.commit({
        pending: { ...p, state: 'denied', answer },
        audit: [serverDenial('certificate-revoke', now, p, '', { reason: why })],
      });
      this.#decided.emit(p.id, answer);
      denied++;
    }
    return denied;
  }

  /**
   * The host's view of its pending request: the current (PENDING) answer first, then the final
   * one. Follows decisions made here at once and those made by other servers within pollMs.
   */
  async *waitDecision(caller: Caller, pendingId: string, signal: AbortSignal): AsyncGenerator<OpenAnswer> {
    requireRole(caller, 'host', 'WaitDecision');
    const first = await this.#store.getPending(pendingId);
    if (first?.host !== caller.identity.name) {
      throw new PinholeError(
        'NOT_FOUND',
        `pending_id: ${pendingId} is not a pending request of host ${caller.identity.name}`,
        { field: 'pending_id' },
      );
    }
    if (first.state !== 'waiting' && first.answer !== undefined) {
      yield first.answer;
      return;
    }
    yield { decision: first.decision, pendingId, serverEpoch: this.#store.epoch };
    const ticker = new EventEmitter();
    const timer = setInterval(() => ticker.emit('tick'), this.#pollMs);
    timer.unref();
    const relay = (answer: OpenAnswer): void => void ticker.emit('tick', answer);
    this.#decided.on(pendingId, relay);
    try {
      for await (const [answer] of on(ticker, 'tick', { signal }) as AsyncIterable<
        [OpenAnswer | undefined]
      >) {
        if (answer !== undefined) {
          yield answer;
          return;
        }
        const now = await this.#store.getPending(pendingId);
        if (now !== undefined && now.state !== 'waiting' && now.answer !== undefined) {
          yield now.answer;
          return;
        }
      }
    } finally {
      clearInterval(timer);
      this.#decided.off(pendingId, relay);
    }
  }
}

/** Rules narrowed to the given CIDRs, each of which must lie inside a decided source. */
function narrowSources(rules: readonly ConcreteRule[], cidrs: readonly string[]): readonly ConcreteRule[] {
  if (cidrs.length === 0) return rules;
  const wanted = cidrs.map((c, i) => {
    const parsed = parseCidr(c);
    if (!parsed.ok) throw invalid(`source_cidrs[${i}]`, parsed.error);
    return { text: parsed.value, range: ipaddr.parseCIDR(parsed.value) };
  });
  const out: ConcreteRule[] = [];
  for (const rule of rules) {
    const decided = ipaddr.parseCIDR(rule.sourceCidr);
    for (const w of wanted) {
      if (w.range[0].kind() === decided[0].kind() && w.range[1] >= decided[1] && w.range[0].match(decided)) {
        out.push({ ...rule, sourceCidr: w.text });
      }
    }
  }
  wanted.forEach((w, i) => {
    if (!out.some((r) => r.sourceCidr === w.text)) {
      throw invalid(
        `source_cidrs[${i}]`,
        `${w.text} is not inside any source policy proposed (${[...new Set(rules.map((r) => r.sourceCidr))].join(', ')}); an approval may only narrow`,
      );
    }
  });
  return out;
}
