/**
 * The contract between the lease watcher and a firewall backend. A backend turns leases into kernel (or
 * appliance) state; it never decides policy. Everything here is plain data so a backend can also live in
 * another process (see `CommandEnforcer`).
 */

/** Transport protocols a lease can open. */
export type Protocol = 'tcp' | 'udp' | 'sctp';

/**
 * One concrete opening: traffic from `sourceCidr` to `destination` on `protocol` ports
 * `portFrom`..`portTo` (inclusive). `destination` is a single address; source and destination are of the
 * same address family.
 */
export interface EnforcerRule {
  protocol: Protocol;
  portFrom: number;
  portTo: number;
  sourceCidr: string;
  destination: string;
}

/** A granted lease as an enforcer sees it: its rules and when the server considers it over. */
export interface EnforcerLease {
  leaseId: string;
  rules: readonly EnforcerRule[];
  /** Wall-clock end of the lease (ms since the epoch); the backend adds its grace on top. */
  expiresAtMs: number;
}

/** One unit of change, applied all-or-nothing. A lease id in both lists is deleted (deletes win). */
export interface ApplyBatch {
  upserts: readonly EnforcerLease[];
  /** Lease ids. Deleting a lease the backend does not know is not an error. */
  deletes: readonly string[];
}

/** Traffic a lease's openings let through since they were (re)created in the kernel. */
export interface LeaseCounter {
  leaseId: string;
  packets: number;
  bytes: number;
}

/** What `reconcile` found and did. */
export interface ReconcileReport {
  /** True when the kernel differed from what this enforcer had applied (someone else changed it). */
  tampered: boolean;
  /** Openings of `desired` that were absent from the kernel and were added. */
  missing: number;
  /** Kernel openings not in `desired` that were removed. */
  extra: number;
  /** Human-readable lines, one per finding or repair, for the status report and the log. */
  events: string[];
}

/** A firewall backend. Implementations serialise their own calls; callers may call concurrently. */
export interface Enforcer {
  /** Installs the baseline (e.g. the nftables table). Idempotent. */
  init(): Promise<void>;
  /** Applies one batch as one transaction: either all of it takes effect or none, and the error is thrown. */
  apply(batch: ApplyBatch): Promise<void>;
  /** Makes the backend hold exactly `desired` (keyed by lease id), repairing drift; reports what differed. */
  reconcile(desired: ReadonlyMap<string, EnforcerLease>): Promise<ReconcileReport>;
  /** Per-lease usage counters, for leases this enforcer holds. */
  counters(): Promise<LeaseCounter[]>;
  /** Stops background work. Idempotent. Leaves the firewall state in place (fail-closed by timeouts). */
  close(): Promise<void>;
}
