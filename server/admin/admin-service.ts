/**
 * What administrators can do, for the gRPC admin service, the admin CLI and the web console
 * alike. Admin certificates only; every call is recorded in the request log.
 */
import { readFileSync } from 'node:fs';
import { PinholeError } from '../core/errors.js';
import type { Decision, Lease, OpenAnswer, OpenRequest } from '../core/types.js';
import type { AuditRecord } from '../audit/record.js';
import { queryAudit, type AuditFilter } from '../audit/query.js';
import { readChainHead, verifyChain, type VerifyResult } from '../audit/verify.js';
import type { JSONWebKeySet } from 'jose';
import { requireRole, actorOf, type Caller } from '../lease/caller.js';
import type { LeaseEngine } from '../lease/lease-engine.js';
import type { ApprovalAdjustments, ApprovalDesk } from '../lease/approval-desk.js';
import type { HostDirectoryCache } from '../lease/host-directory.js';
import type { PolicyEvaluator } from '../policy/api.js';
import type { PendingRecord, Store } from '../store/store.js';
import type { EnforcerRegistry, EnforcerView, PerEnforcerState } from '../watch/enforcer-registry.js';
import type { ReloadOutcome } from '../policy-runtime.js';

export interface AdminDeps {
  readonly store: Store;
  readonly engine: LeaseEngine;
  readonly desk: ApprovalDesk;
  readonly registry: EnforcerRegistry;
  readonly directory: HostDirectoryCache;
  readonly policy: () => PolicyEvaluator;
  readonly policyFile: () => string;
  readonly reloadPolicy: () => Promise<ReloadOutcome>;
  /** Public keys that verify audit retention checkpoints (the receipt JWKS); without them a pruned log fails verification. */
  readonly auditKeys?: () => JSONWebKeySet;
}

export interface LeaseRow {
  readonly lease: Lease;
  readonly packets: number;
  readonly bytes: number;
  /** No enforcer has reported traffic on it. */
  readonly neverUsed: boolean;
  readonly enforcers: readonly { readonly name: string; readonly state: PerEnforcerState }[];
}

export class AdminService {
  readonly #d: AdminDeps;

  constructor(deps: AdminDeps) {
    this.#d = deps;
  }

  /** Refuses non-admins, records the call, returns nothing. */
  async #enter(caller: Caller, method: string, detail: Record<string, unknown> = {}): Promise<void> {
    requireRole(caller, 'admin', method);
    await this.#d.engine.record([
      {
        atMs: Date.now(),
        actor: actorOf(caller),
        peer: caller.peer,
        action: 'admin',
        requestId: '',
        leaseId: '',
        outcome: 'OK',
        ruleId: '',
        detail: { method, ...detail },
      },
    ]);
  }

  async listLeases(
    caller: Caller,
    filter: { host?: string; includeEnded?: boolean; limit?: number },
  ): Promise<LeaseRow[]> {
    await this.#enter(caller, 'ListLeases', { ...filter });
    const limit = Math.min(filter.limit ?? 1000, 10_000);
    const leases = await this.#d.store.listLeases({
      ...(filter.host === undefined || filter.host === '' ? {} : { host: filter.host }),
      includeEnded: filter.includeEnded ?? false,
      limit,
    });
    return leases.map((l) => {
      const usage = this.#d.registry.usage(l.id);
      return {
        lease: this.#d.registry.decorate(l),
        packets: usage?.packets ?? 0,
        bytes: usage?.bytes ?? 0,
        neverUsed: (usage?.packets ?? 0) === 0,
        enforcers: this.#d.registry.perEnforcer(l),
      };
    });
  }

  async listPending(caller: Caller): Promise<PendingRecord[]> {
    await this.#enter(caller, 'ListPending');
    return this.#d.desk.list(caller);
  }

  approve(caller: Caller, pendingId: string, adj: ApprovalAdjustments): Promise<OpenAnswer> {
    return this.#d.desk.approve(caller, pendingId, adj);
  }

  deny(caller: Caller, pendingId: string, reason: string): Promise<OpenAnswer> {
    return this.#d.desk.deny(caller, pendingId, reason);
  }

  revoke(caller: Caller, leaseId: string, reason: string): Promise<Lease> {
    if (reason.trim() === '')
      throw new PinholeError(
        'INVALID_ARGUMENT',
        'reason: is empty; say why the lease is revoked (the host sees it)',
        { field: 'reason' },
      );
    return this.#d.engine.revoke(caller, leaseId, reason);
  }

  async queryAudit(caller: Caller, filter: AuditFilter): Promise<AuditRecord[]> {
    await this.#enter(caller, 'QueryAudit', { ...filter });
    return queryAudit((after, limit) => this.#d.store.auditRecords({ afterSeq: after, limit }), filter);
  }

  async verifyAudit(caller: Caller): Promise<VerifyResult> {
    await this.#enter(caller, 'VerifyAudit');
    const headFile = this.#d.store.chainHeadFile;
    const keys = this.#d.auditKeys?.();
    return verifyChain(
      (after, limit) => this.#d.store.auditRecords({ afterSeq: after, limit }),
      headFile === undefined ? undefined : readChainHead(headFile),
      undefined,
      {
        checkpoints: await this.#d.store.auditCheckpoints(),
        ...(keys === undefined ? {} : { jwks: keys }),
        keySource: "the server's receipt key",
      },
    );
  }

  async explain(
    caller: Caller,
    who: { host: string; addresses: readonly string[] },
    request: OpenRequest,
  ): Promise<Decision> {
    await this.#enter(caller, 'Explain', { host: who.host });
    const addresses =
      who.addresses.length > 0 ? who.addresses : (this.#d.directory.addressesOf(who.host) ?? []);
    return this.#d.policy().decide({ name: who.host, addresses }, request, this.#d.directory, Date.now());
  }

  async reloadPolicy(caller: Caller): Promise<ReloadOutcome> {
    await this.#enter(caller, 'ReloadPolicy');
    return this.#d.reloadPolicy();
  }

  async policyText(caller: Caller): Promise<{ file: string; text: string }> {
    await this.#enter(caller, 'PolicyText');
    const file = this.#d.policyFile();
    return { file, text: readFileSync(file, 'utf8') };
  }

  async listEnforcers(caller: Caller): Promise<EnforcerView[]> {
    await this.#enter(caller, 'ListEnforcers');
    return this.#d.registry.list();
  }
}
