/**
 * Checks what lease-stream watchers saw against the store's event log, like etcd's robustness
 * validators (tests/robustness/validate): each watcher's raw history, session by session, is
 * replayed the way a careful agent applies it, and every property is checked from the ground
 * truth rather than from the watcher's own bookkeeping.
 *
 * The contract (server/watch/hub.ts, subscription.ts, proto/pinhole/v1/watch.proto):
 * - ordered: within a session, live revisions never go back and a revision's events are
 *   contiguous; PROGRESS r is never below a revision already sent;
 * - resumable: a watcher resumes from its last complete revision (one followed by a higher
 *   revision or a PROGRESS); a revision cut mid-way is dropped and must come again, whole;
 * - unique: no (revision, lease) is applied twice across all sessions;
 * - gap-free and atomic per revision: every in-scope event of every revision the watcher
 *   claims to cover (after a snapshot, up to its last complete revision) is applied, with the
 *   one exception the subscription queue documents: a live UPSERT superseded by a newer UPSERT
 *   of the same lease, which the watcher receives later (or re-syncs by a later snapshot);
 * - snapshot semantics: from 0 or after RESET, UPSERTs with snapshot=true and then PROGRESS s;
 *   the snapshot is exactly the scope's live set at s; RESET only starts a session's catch-up;
 * - converged: at the end, the watcher's lease set equals the store's live set in its scope.
 */

/** One lease change from the store's event log. */
export interface TruthEvent {
  readonly revision: number;
  readonly type: 'UPSERT' | 'DELETE';
  readonly leaseId: string;
  readonly host: string;
  /** The lease's expiry in this event (a renewal changes it). */
  readonly expiresAtMs: number;
}

/** One event as a watcher received it off the wire. */
export interface SeenEvent {
  readonly type: 'UPSERT' | 'DELETE' | 'PROGRESS' | 'RESET';
  readonly revision: number;
  readonly snapshot: boolean;
  readonly leaseId: string;
  readonly host: string;
  readonly expiresAtMs: number;
}

/** One stream: where it resumed from and what it received until it was cut or failed. */
export interface Session {
  readonly fromRevision: number;
  readonly events: readonly SeenEvent[];
  /** `cut` (the watcher cancelled), `stopped` (end of test), or the gRPC status name it ended with. */
  readonly end: string;
}

export interface WatcherHistory {
  readonly name: string;
  readonly inScope: (host: string) => boolean;
  readonly sessions: readonly Session[];
}

export interface WatcherReport {
  readonly name: string;
  readonly violations: string[];
  readonly eventsChecked: number;
  readonly revisionsApplied: number;
  readonly reconnects: number;
  readonly snapshots: number;
  readonly resets: number;
  /** Partial revisions dropped at a cut (and received again whole on resume). */
  readonly partialRevisionsDropped: number;
  /** UPSERTs never received because a newer UPSERT of the lease superseded them. */
  readonly supersededUpserts: number;
  readonly lastCompleteRevision: number;
  readonly finalLeases: number;
}

interface LeaseView {
  readonly expiresAtMs: number;
}

/** The log by revision, with the live set at any revision. */
export class GroundTruth {
  readonly #events: readonly TruthEvent[];
  readonly byRevision = new Map<number, TruthEvent[]>();

  constructor(events: readonly TruthEvent[]) {
    this.#events = events;
    for (const e of events) {
      const list = this.byRevision.get(e.revision) ?? [];
      list.push(e);
      this.byRevision.set(e.revision, list);
    }
  }

  get lastRevision(): number {
    return this.#events.at(-1)?.revision ?? 0;
  }

  /** Problems with the log itself: revisions must be consecutive from 1, each one whole. */
  check(): string[] {
    const problems: string[] = [];
    let expected = 1;
    let previous = 0;
    for (const e of this.#events) {
      if (e.revision === previous) continue;
      if (e.revision !== expected)
        problems.push(`log: revision ${e.revision} follows ${previous} (expected ${expected})`);
      previous = e.revision;
      expected = e.revision + 1;
    }
    return problems;
  }

  /** Live leases in scope after every change up to and including `revision`. */
  stateAt(revision: number, inScope: (host: string) => boolean): Map<string, LeaseView> {
    const state = new Map<string, LeaseView>();
    for (const e of this.#events) {
      if (e.revision > revision) break;
      if (!inScope(e.host)) continue;
      if (e.type === 'UPSERT') state.set(e.leaseId, { expiresAtMs: e.expiresAtMs });
      else state.delete(e.leaseId);
    }
    return state;
  }
}

function diffStates(got: Map<string, LeaseView>, want: Map<string, LeaseView>): string | undefined {
  const missing = [...want.keys()].filter((id) => !got.has(id));
  const extra = [...got.keys()].filter((id) => !want.has(id));
  const stale = [...want].filter(([id, v]) => got.has(id) && got.get(id)?.expiresAtMs !== v.expiresAtMs);
  if (missing.length + extra.length + stale.length === 0) return undefined;
  return `missing ${JSON.stringify(missing)}, extra ${JSON.stringify(extra)}, stale ${JSON.stringify(stale.map(([id]) => id))}`;
}

/** Validates one watcher's history against the log. */
export function validateWatcher(h: WatcherHistory, truth: GroundTruth): WatcherReport {
  const violations: string[] = [];
  const fail = (msg: string): void => {
    if (violations.length < 50) violations.push(`${h.name}: ${msg}`);
  };
  let applied = new Map<string, LeaseView>();
  const appliedKeys = new Set<string>();
  /** Applied live UPSERT revisions per lease, and the revisions of completed snapshots. */
  const upsertRevisions = new Map<string, number[]>();
  const snapshotRevisions: number[] = [];
  /** Live intervals (after, through]: revisions the watcher claims to have every event of. */
  const intervals: { after: number; through: number }[] = [];
  let lastComplete = 0;
  let eventsChecked = 0;
  let revisionsApplied = 0;
  let snapshots = 0;
  let resets = 0;
  let partial = 0;

  h.sessions.forEach((s, si) => {
    const where = (i: number): string => `session ${si} (from ${s.fromRevision}) event ${i}`;
    if (s.fromRevision !== lastComplete)
      fail(
        `session ${si} resumed from ${s.fromRevision}, but the last complete revision was ${lastComplete}`,
      );
    let snapshot: Map<string, LeaseView> | undefined = s.fromRevision === 0 ? new Map() : undefined;
    let snapshotAt: number | undefined;
    let group: { revision: number; events: SeenEvent[] } | undefined;
    let liveSeen = false;
    let highest = s.fromRevision;

    const complete = (): void => {
      if (group === undefined) return;
      for (const e of group.events) {
        const key = `${e.revision}:${e.leaseId}`;
        if (appliedKeys.has(key)) fail(`revision ${e.revision} lease ${e.leaseId} applied twice`);
        appliedKeys.add(key);
        const matching = truth.byRevision.get(e.revision)?.find((t) => t.leaseId === e.leaseId);
        if (matching === undefined) fail(`revision ${e.revision}: ${e.type} ${e.leaseId} is not in the log`);
        else if (matching.type !== e.type || (e.type === 'UPSERT' && matching.expiresAtMs !== e.expiresAtMs))
          fail(`revision ${e.revision}: ${e.type} ${e.leaseId} differs from the log's ${matching.type}`);
        if (e.type === 'UPSERT') {
          applied.set(e.leaseId, { expiresAtMs: e.expiresAtMs });
          const list = upsertRevisions.get(e.leaseId) ?? [];
          list.push(e.revision);
          upsertRevisions.set(e.leaseId, list);
        } else {
          applied.delete(e.leaseId);
        }
      }
      revisionsApplied++;
      lastComplete = group.revision;
      const open = intervals.at(-1);
      if (open !== undefined) open.through = lastComplete;
      group = undefined;
    };

    s.events.forEach((e, i) => {
      eventsChecked++;
      switch (e.type) {
        case 'RESET':
          resets++;
          if (s.fromRevision === 0 || liveSeen || snapshot !== undefined)
            fail(`${where(i)}: RESET outside the start of a resumed session`);
          snapshot = new Map();
          return;
        case 'UPSERT':
        case 'DELETE':
          if (!h.inScope(e.host))
            fail(`${where(i)}: ${e.type} of ${e.leaseId} (host ${e.host}) is out of scope`);
          if (e.snapshot) {
            if (e.type !== 'UPSERT' || snapshot === undefined) {
              fail(`${where(i)}: a snapshot event outside a snapshot`);
              return;
            }
            if (snapshotAt !== undefined && e.revision !== snapshotAt)
              fail(`${where(i)}: snapshot events at revisions ${snapshotAt} and ${e.revision}`);
            snapshotAt = e.revision;
            if (snapshot.has(e.leaseId)) fail(`${where(i)}: ${e.leaseId} twice in one snapshot`);
            snapshot.set(e.leaseId, { expiresAtMs: e.expiresAtMs });
            return;
          }
          if (snapshot !== undefined) {
            fail(`${where(i)}: live ${e.type} at ${e.revision} before the snapshot's PROGRESS`);
            return;
          }
          liveSeen = true;
          if (e.revision <= lastComplete) {
            fail(
              `${where(i)}: ${e.type} at ${e.revision}, not after the last complete revision ${lastComplete}`,
            );
            return;
          }
          if (group !== undefined && e.revision < group.revision) {
            fail(`${where(i)}: revision ${e.revision} after revision ${group.revision}`);
            return;
          }
          if (group !== undefined && e.revision > group.revision) complete();
          group ??= { revision: e.revision, events: [] };
          group.events.push(e);
          highest = Math.max(highest, e.revision);
          return;
        case 'PROGRESS': {
          if (e.revision < highest)
            fail(`${where(i)}: PROGRESS ${e.revision} below revision ${highest} already sent`);
          highest = Math.max(highest, e.revision);
          complete();
          if (snapshot !== undefined) {
            if (snapshotAt !== undefined && snapshotAt > e.revision)
              fail(`${where(i)}: snapshot at ${snapshotAt} ended by PROGRESS ${e.revision}`);
            const problem = diffStates(snapshot, truth.stateAt(e.revision, h.inScope));
            if (problem !== undefined)
              fail(`${where(i)}: snapshot at ${e.revision} is not the live set: ${problem}`);
            applied = snapshot;
            snapshot = undefined;
            snapshots++;
            snapshotRevisions.push(e.revision);
            intervals.push({ after: e.revision, through: e.revision });
          }
          lastComplete = Math.max(lastComplete, e.revision);
          const open = intervals.at(-1);
          if (open !== undefined) open.through = lastComplete;
          return;
        }
      }
    });
    // A revision (or snapshot) cut before it was known complete is dropped; the resume repeats it.
    if (group !== undefined || (snapshot !== undefined && s.events.length > 0)) partial++;
  });

  // Gap-free: every in-scope event of a covered revision was applied, or superseded.
  let superseded = 0;
  for (const { after, through } of intervals) {
    for (let r = after + 1; r <= through; r++) {
      for (const t of truth.byRevision.get(r) ?? []) {
        if (!h.inScope(t.host) || appliedKeys.has(`${r}:${t.leaseId}`)) continue;
        const newer =
          t.type === 'UPSERT' &&
          ((upsertRevisions.get(t.leaseId) ?? []).some((u) => u > r) || snapshotRevisions.some((s) => s > r));
        if (newer) superseded++;
        else
          fail(
            `gap: ${t.type} of ${t.leaseId} at revision ${r} (covered by ${after}..${through}) never applied`,
          );
      }
    }
  }

  return {
    name: h.name,
    violations,
    eventsChecked,
    revisionsApplied,
    reconnects: Math.max(0, h.sessions.length - 1),
    snapshots,
    resets,
    partialRevisionsDropped: partial,
    supersededUpserts: superseded,
    lastCompleteRevision: lastComplete,
    finalLeases: applied.size,
  };
}

/** The watcher's final set against the log's live set at the watcher's last complete revision. */
export function finalStateProblem(
  h: WatcherHistory,
  truth: GroundTruth,
  finalRevision: number,
): string | undefined {
  const report = replayFinalState(h);
  if (report.lastComplete !== finalRevision)
    return `${h.name}: ended at revision ${report.lastComplete}, the store at ${finalRevision}`;
  const problem = diffStates(report.state, truth.stateAt(finalRevision, h.inScope));
  return problem === undefined ? undefined : `${h.name}: final lease set differs from the store: ${problem}`;
}

/** The lease set a watcher holds after its history, applying complete revisions only. */
export function replayFinalState(h: WatcherHistory): { state: Map<string, LeaseView>; lastComplete: number } {
  let state = new Map<string, LeaseView>();
  let lastComplete = 0;
  for (const s of h.sessions) {
    let snapshot: Map<string, LeaseView> | undefined = s.fromRevision === 0 ? new Map() : undefined;
    let group: SeenEvent[] = [];
    const flush = (): void => {
      for (const e of group) {
        if (e.type === 'UPSERT') state.set(e.leaseId, { expiresAtMs: e.expiresAtMs });
        else state.delete(e.leaseId);
      }
      const last = group.at(-1);
      if (last !== undefined) lastComplete = Math.max(lastComplete, last.revision);
      group = [];
    };
    for (const e of s.events) {
      if (e.type === 'RESET') snapshot = new Map();
      else if (e.type === 'PROGRESS') {
        flush();
        if (snapshot !== undefined) state = snapshot;
        snapshot = undefined;
        lastComplete = Math.max(lastComplete, e.revision);
      } else if (e.snapshot) snapshot?.set(e.leaseId, { expiresAtMs: e.expiresAtMs });
      else {
        if (group.length > 0 && (group.at(-1)?.revision ?? 0) < e.revision) flush();
        group.push(e);
      }
    }
  }
  return { state, lastComplete };
}
