/**
 * What enforcers report: applied revision, errors, tamper events, usage counters. From it come
 * a lease's realized state (every enforcer whose scope covers it has applied its revision) and
 * compliance (an enforcer that misses heartbeats is non-compliant).
 */
import type { Lease } from '../core/types.js';

export interface EnforcerReport {
  readonly appliedRevision: number;
  readonly error: string;
  readonly tamperEvents: readonly string[];
  readonly counters: readonly {
    readonly leaseId: string;
    readonly packets: number;
    readonly bytes: number;
  }[];
  readonly mode: string;
  readonly backend: string;
}

export interface EnforcerView {
  readonly name: string;
  readonly appliedRevision: number;
  readonly lastHeartbeatMs: number;
  readonly compliant: boolean;
  readonly error: string;
  readonly tamperEvents: readonly string[];
  readonly mode: string;
}

export type PerEnforcerState = 'applied' | 'error' | 'unknown';

export interface RegistryOptions {
  /** Enforcers must report at least this often. */
  readonly heartbeatSeconds: number;
  /** Names of the enforcers policy lists (read per call, so reloads count). */
  readonly expected: () => readonly string[];
  /** Does enforcer `name` cover `lease`? */
  readonly covers: (name: string, lease: Lease) => boolean;
  readonly now?: () => number;
}

interface Entry {
  report: EnforcerReport;
  lastHeartbeatMs: number;
  tamper: string[];
}

const MAX_TAMPER_KEPT = 50;

export class EnforcerRegistry {
  readonly #o: RegistryOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #usage = new Map<string, { packets: number; bytes: number }>();
  readonly #now: () => number;

  constructor(o: RegistryOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
  }

  get heartbeatSeconds(): number {
    return this.#o.heartbeatSeconds;
  }

  /** Records a report; returns what changed that is worth an audit record, if anything. */
  report(name: string, report: EnforcerReport): string[] {
    const now = this.#now();
    const prev = this.#entries.get(name);
    const wasCompliant = prev !== undefined && this.#compliant(prev, now);
    const entry: Entry = {
      report,
      lastHeartbeatMs: now,
      tamper: [...(prev?.tamper ?? []), ...report.tamperEvents].slice(-MAX_TAMPER_KEPT),
    };
    this.#entries.set(name, entry);
    for (const c of report.counters) {
      const u = this.#usage.get(c.leaseId) ?? { packets: 0, bytes: 0 };
      // Counters are cumulative per enforcer; keep the largest seen across enforcers.
      this.#usage.set(c.leaseId, {
        packets: Math.max(u.packets, c.packets),
        bytes: Math.max(u.bytes, c.bytes),
      });
    }
    const changes: string[] = [];
    if (!wasCompliant) changes.push('compliant');
    if ((prev?.report.error ?? '') !== report.error)
      changes.push(report.error === '' ? 'error cleared' : `error: ${report.error}`);
    for (const t of report.tamperEvents) changes.push(`tamper: ${t}`);
    return changes;
  }

  #compliant(e: Entry, now: number): boolean {
    return now - e.lastHeartbeatMs <= this.#o.heartbeatSeconds * 3 * 1000 && e.report.error === '';
  }

  list(): EnforcerView[] {
    const now = this.#now();
    const names = new Set([...this.#o.expected(), ...this.#entries.keys()]);
    return [...names].sort().map((name) => {
      const e = this.#entries.get(name);
      return {
        name,
        appliedRevision: e?.report.appliedRevision ?? 0,
        lastHeartbeatMs: e?.lastHeartbeatMs ?? 0,
        compliant: e !== undefined && this.#compliant(e, now),
        error: e?.report.error ?? '',
        tamperEvents: e?.tamper ?? [],
        mode: e?.report.mode ?? '',
      };
    });
  }

  /** Per enforcer covering the lease: applied (its applied revision reached the lease's), error or unknown. */
  perEnforcer(lease: Lease): { name: string; state: PerEnforcerState }[] {
    return this.#o
      .expected()
      .filter((name) => this.#o.covers(name, lease))
      .map((name) => {
        const e = this.#entries.get(name);
        const state: PerEnforcerState =
          e === undefined
            ? 'unknown'
            : e.report.appliedRevision >= lease.revision
              ? 'applied'
              : e.report.error !== ''
                ? 'error'
                : 'unknown';
        return { name, state };
      });
  }

  /** The lease with state `realized` once every enforcer covering it applied it. */
  decorate(lease: Lease): Lease {
    if (lease.state !== 'granted') return lease;
    const states = this.perEnforcer(lease);
    return states.length > 0 && states.every((s) => s.state === 'applied')
      ? { ...lease, state: 'realized' }
      : lease;
  }

  usage(leaseId: string): { packets: number; bytes: number } | undefined {
    return this.#usage.get(leaseId);
  }
}
