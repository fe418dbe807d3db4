/**
 * What the agent wants the firewall to hold, built from the lease stream: a snapshot (after
 * connect or RESET, ended by PROGRESS) replaces everything; live UPSERT/DELETE events change it
 * incrementally. Pending changes accumulate until the agent applies them as one batch.
 */
import type { ApplyBatch, EnforcerLease, EnforcerRule, Protocol } from '../enforcer/types.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import type { Lease__Output } from '../../proto/gen/pinhole/v1/Lease.js';

export function toEnforcerLease(l: Lease__Output): EnforcerLease {
  return {
    leaseId: l.id,
    expiresAtMs: Number(l.expiresAtUnixMs),
    rules: l.rules.map((r): EnforcerRule => ({
      protocol: r.protocol.toLowerCase() as Protocol,
      portFrom: r.portFrom,
      portTo: r.portTo,
      sourceCidr: r.sourceCidr,
      destination: r.destination,
    })),
  };
}

/**
 * `renewed`: only the end of a lease already desired moved, with the same rules, while its current end
 * is still far off; nothing opens or closes, so the agent may gather such changes for longer.
 */
export type StepResult = 'none' | 'changed' | 'renewed' | 'snapshot-complete';

/** A renewal may wait for a later batch only while the lease has at least this long left (ms). */
const RENEWAL_SLACK_MS = 10_000;

function sameRules(a: readonly EnforcerRule[], b: readonly EnforcerRule[]): boolean {
  return (
    a.length === b.length &&
    a.every((r, i) => {
      const o = b[i];
      return (
        o !== undefined &&
        r.protocol === o.protocol &&
        r.portFrom === o.portFrom &&
        r.portTo === o.portTo &&
        r.sourceCidr === o.sourceCidr &&
        r.destination === o.destination
      );
    })
  );
}

export class LeaseState {
  readonly desired = new Map<string, EnforcerLease>();
  #snapshot: Map<string, EnforcerLease> | undefined;
  #upserts = new Map<string, EnforcerLease>();
  #deletes = new Set<string>();
  /** Highest revision received from the stream. */
  received = 0;
  /** Whether everything up to `received` is known complete (a PROGRESS followed it). */
  #complete = true;

  /**
   * Where to resume: after `received` once a PROGRESS confirmed it, otherwise one revision
   * earlier, since a stream cut inside a revision delivered only part of it (replaying a
   * revision is harmless: upserts and deletes are idempotent).
   */
  resumeFrom(): number {
    return this.#complete ? this.received : Math.max(0, this.received - 1);
  }

  /** A new stream from revision 0 starts with a snapshot. */
  beginSnapshot(): void {
    this.#snapshot = new Map();
  }

  get inSnapshot(): boolean {
    return this.#snapshot !== undefined;
  }

  /** `nowMs`: wall clock, to tell a renewal far from its lease's end (see StepResult). */
  step(e: WatchEvent__Output, nowMs = Date.now()): StepResult {
    const revision = Number(e.revision);
    switch (e.type) {
      case 'RESET':
        this.#snapshot = new Map();
        return 'none';
      case 'UPSERT': {
        if (e.lease == null) return 'none';
        const lease = toEnforcerLease(e.lease);
        if (this.#snapshot !== undefined) {
          this.#snapshot.set(lease.leaseId, lease);
          return 'none';
        }
        const before = this.desired.get(lease.leaseId);
        const renewal =
          before !== undefined &&
          !this.#deletes.has(lease.leaseId) &&
          before.expiresAtMs - nowMs >= RENEWAL_SLACK_MS &&
          lease.expiresAtMs >= before.expiresAtMs &&
          sameRules(before.rules, lease.rules);
        this.desired.set(lease.leaseId, lease);
        this.#upserts.set(lease.leaseId, lease);
        this.#deletes.delete(lease.leaseId);
        this.#saw(revision);
        return renewal ? 'renewed' : 'changed';
      }
      case 'DELETE': {
        if (this.#snapshot !== undefined) {
          this.#snapshot.delete(e.leaseId);
          return 'none';
        }
        this.desired.delete(e.leaseId);
        this.#upserts.delete(e.leaseId);
        this.#deletes.add(e.leaseId);
        this.#saw(revision);
        return 'changed';
      }
      case 'PROGRESS': {
        this.received = Math.max(this.received, revision);
        this.#complete = true;
        if (this.#snapshot === undefined) return 'none';
        this.desired.clear();
        for (const [id, lease] of this.#snapshot) this.desired.set(id, lease);
        this.#snapshot = undefined;
        this.#upserts.clear();
        this.#deletes.clear();
        return 'snapshot-complete';
      }
      case 'EVENT_TYPE_UNSPECIFIED':
        return 'none';
    }
  }

  #saw(revision: number): void {
    if (revision > this.received) {
      this.received = revision;
      this.#complete = false;
    }
  }

  /** Takes the pending incremental changes (and forgets them). */
  takeBatch(): ApplyBatch | undefined {
    if (this.#upserts.size === 0 && this.#deletes.size === 0) return undefined;
    const batch = { upserts: [...this.#upserts.values()], deletes: [...this.#deletes] };
    this.#upserts = new Map();
    this.#deletes = new Set();
    return batch;
  }

  /** Puts a batch that failed back, unless newer changes superseded parts of it. */
  restoreBatch(batch: ApplyBatch): void {
    for (const l of batch.upserts)
      if (!this.#upserts.has(l.leaseId) && !this.#deletes.has(l.leaseId)) this.#upserts.set(l.leaseId, l);
    for (const id of batch.deletes) if (!this.#upserts.has(id)) this.#deletes.add(id);
  }
}
