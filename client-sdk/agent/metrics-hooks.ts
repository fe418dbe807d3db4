/**
 * What a firewall agent reports to a metrics system, as plain calls: `FirewallAgent` takes an
 * object with any of these (its `metrics` option) and knows nothing of Prometheus.
 * `AgentMetrics` (agent-metrics.ts) implements them with prom-client.
 */

/** What a change to the firewall was: a batch from the lease stream, or a full reconcile. */
export type ApplyKind = 'batch' | 'reconcile';

/** Observation points of a `FirewallAgent`; every one is optional. */
export interface AgentMetricsHooks {
  /** A batch or reconcile reached the enforcer (one transaction), with its size and duration. */
  applied?(info: {
    readonly kind: ApplyKind;
    readonly seconds: number;
    readonly upserts: number;
    readonly deletes: number;
  }): void;
  /** The enforcer refused or failed an operation (nothing was applied). */
  enforcerError?(operation: ApplyKind): void;
  /** The highest lease revision now applied, and how many leases the agent holds. */
  appliedRevision?(revision: number, leases: number): void;
  /** Changes made outside the agent were found (and repaired): one call per finding. */
  tamper?(events: number): void;
  /** The lease stream is (true) or is not (false) delivering events. */
  streamConnected?(connected: boolean): void;
}

/** Batches and reconciles bigger than this log progress: they take seconds on a large set (DESIGN.md §6). */
export const PROGRESS_THRESHOLD = 5000;
