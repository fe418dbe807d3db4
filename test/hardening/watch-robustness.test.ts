/**
 * Issue 10, watch robustness, after etcd's robustness tests: under concurrent grants, renewals,
 * releases, admin revokes and expiries, watchers that cut their stream at random moments and
 * resume from their last complete revision see a history that is ordered, unique, gap-free,
 * atomic per revision and resumable, and end with the store's live set for their scope
 * (watch-validator.ts states and checks the contract).
 *
 * Real parts: an mTLS gRPC server on loopback with a SQLite file that keeps only 50 revisions of
 * events (so long pauses are answered with RESET and a snapshot), the sweeper every 100 ms, 1-3 s
 * terms. The load and every watcher decision come from a fixed seed; timings are not asserted.
 * The ground truth is the store's commit feed, cross-checked against the events table on disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import {
  adminClient,
  readClientTls,
  watchClient,
  type AdminClient,
  type LeaseWatchClient,
  type OpeningClient,
} from '../../client-sdk/wire.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import type { Lease__Output } from '../../proto/gen/pinhole/v1/Lease.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { StoredEvent } from '../../server/store/store.js';
import type { Lease } from '../../server/core/types.js';
import {
  hostClient,
  LOAD_LIMITS,
  removeDir,
  startTestServer,
  tempDir,
  unaryCall,
  writeFileSync,
  type TestServer,
} from '../helpers/pinhole.js';
import { open, seededRandom, sleep } from './fixtures.js';
import {
  finalStateProblem,
  GroundTruth,
  replayFinalState,
  validateWatcher,
  type SeenEvent,
  type Session,
  type TruthEvent,
  type WatcherHistory,
} from './watch-validator.js';

const SEED = 0x5eed_0010;
const RETAIN_REVISIONS = 50;
const HOSTS = ['web-1', 'db-1', 'db-2'] as const;
type Host = (typeof HOSTS)[number];

const POLICY = `
defaults: { ttl: 2s, min_ttl: 1s, max_ttl: 10m, max_lifetime: 1h }
groups:
  web-tier: { hosts: ["web-*"] }
  dbs: { hosts: ["db-*"] }
rules:
  - id: web-public
    requesters: [web-tier]
    open: [tcp/443]
    from: [any]
  - id: db-from-web
    requesters: [dbs]
    open: [tcp/5432]
    from: [web-tier]
enforcers:
  gw-1: { watches: { all: true }, mode: gateway }
  web-1: { watches: { hosts: [web-1] }, mode: host }
`;

const request = (host: Host, requestId: string, ttlSeconds: number): OpenRequest => ({
  requestId,
  openings: [
    host === 'web-1'
      ? { ports: { protocol: 'TCP', from: 443, to: 443 }, sources: [{ any: true }] }
      : { ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ group: 'web-tier' }] },
  ],
  requestedTtlSeconds: ttlSeconds,
});

interface WatcherSpec {
  readonly name: string;
  readonly identity: string;
  readonly scope: { hosts: string[]; groups: string[] };
  readonly inScope: (host: string) => boolean;
}

const WATCHERS: readonly WatcherSpec[] = [
  { name: 'gw-all-a', identity: 'firewall-gw-1', scope: { hosts: [], groups: [] }, inScope: () => true },
  { name: 'gw-all-b', identity: 'firewall-gw-1', scope: { hosts: [], groups: [] }, inScope: () => true },
  {
    name: 'gw-db-hosts',
    identity: 'firewall-gw-1',
    scope: { hosts: ['db-1', 'db-2'], groups: [] },
    inScope: (h) => h.startsWith('db-'),
  },
  {
    name: 'gw-dbs-group',
    identity: 'firewall-gw-1',
    scope: { hosts: [], groups: ['dbs'] },
    inScope: (h) => h.startsWith('db-'),
  },
  {
    name: 'gw-mixed',
    identity: 'firewall-gw-1',
    scope: { hosts: ['web-1', 'db-2'], groups: [] },
    inScope: (h) => h === 'web-1' || h === 'db-2',
  },
  {
    name: 'fw-web-1',
    identity: 'firewall-web-1',
    scope: { hosts: [], groups: [] },
    inScope: (h) => h === 'web-1',
  },
];

function seen(e: WatchEvent__Output): SeenEvent {
  const lease: Lease__Output | null = e.lease;
  return {
    type: e.type === 'EVENT_TYPE_UNSPECIFIED' ? 'PROGRESS' : e.type,
    revision: Number(e.revision),
    snapshot: e.snapshot,
    leaseId: e.leaseId,
    host: lease?.host ?? '',
    expiresAtMs: Number(lease?.expiresAtUnixMs ?? 0),
  };
}

const truthOf = (e: StoredEvent): TruthEvent => ({
  revision: e.revision,
  type: e.type,
  leaseId: e.lease.id,
  host: e.lease.host,
  expiresAtMs: e.lease.expiresAtMs,
});

/** How a session ends unless the stream fails first. */
type CutPlan = { afterEvents: number } | { afterMs: number } | { untilRevision: () => number | undefined };

class Watcher {
  readonly sessions: Session[] = [];
  readonly #spec: WatcherSpec;
  readonly #client: LeaseWatchClient;
  readonly #random: () => number;

  constructor(spec: WatcherSpec, ts: TestServer, seed: number) {
    this.#spec = spec;
    this.#client = watchClient(ts.address, readClientTls(ts.certDir, spec.identity));
    this.#random = seededRandom(seed);
  }

  get history(): WatcherHistory {
    return { name: this.#spec.name, inScope: this.#spec.inScope, sessions: this.sessions };
  }

  /** The last complete revision: where the agent resumes (client-sdk/agent/lease-state.ts). */
  get resumeFrom(): number {
    return replayFinalState(this.history).lastComplete;
  }

  /**
   * Cuts and resumes at random until `done()` says the load is over and `target()` gives the
   * final revision, then runs one last session until it has everything up to it.
   */
  async run(o: {
    done: () => boolean;
    target: () => number | undefined;
    storeRevision: () => number;
  }): Promise<void> {
    for (;;) {
      const final = o.done();
      const roll = this.#random();
      const plan: CutPlan = final
        ? { untilRevision: o.target }
        : roll < 0.5
          ? { afterEvents: 1 + Math.floor(this.#random() * 60) }
          : { afterMs: 20 + Math.floor(this.#random() * 400) };
      const session = await this.session(this.resumeFrom, plan);
      this.sessions.push(session);
      if (session.end === 'stopped') return;
      if ((this.sessions.length === 3 || this.#random() < 0.12) && !o.done()) {
        // A long outage: back only once the store has compacted past our revision (RESET).
        const from = this.resumeFrom;
        while (!o.done() && o.storeRevision() <= from + RETAIN_REVISIONS + 5) await sleep(20);
      } else {
        await sleep(Math.floor(this.#random() * 30));
      }
    }
  }

  /** One stream from `fromRevision` until `plan` cuts it or it fails; the caller records it. */
  session(fromRevision: number, plan: CutPlan): Promise<Session> {
    return new Promise((resolve) => {
      const events: SeenEvent[] = [];
      const call = this.#client.Watch({ fromRevision: String(fromRevision), scope: this.#spec.scope });
      let timer: NodeJS.Timeout | undefined;
      let ended = false;
      const finish = (end: string): void => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        resolve({ fromRevision, events, end });
      };
      const cut = (end: string): void => {
        finish(end);
        call.cancel();
      };
      call.on('error', (e: ServiceError) => {
        finish(e.code === status.CANCELLED ? 'cut' : status[e.code]);
      });
      call.on('end', () => {
        finish('ended by server');
      });
      if ('afterMs' in plan)
        timer = setTimeout(() => {
          cut('cut');
        }, plan.afterMs);
      call.on('data', (e: WatchEvent__Output) => {
        if (ended) return;
        events.push(seen(e));
        if ('afterEvents' in plan && events.length >= plan.afterEvents) cut('cut');
        if ('untilRevision' in plan && e.type === 'PROGRESS') {
          const target = plan.untilRevision();
          const history = {
            ...this.history,
            sessions: [...this.sessions, { fromRevision, events, end: '' }],
          };
          if (target !== undefined && replayFinalState(history).lastComplete >= target) cut('stopped');
        }
      });
    });
  }

  close(): void {
    this.#client.close();
  }
}

describe('watch robustness', () => {
  let dir: string;
  let ts: TestServer;
  const truth: TruthEvent[] = [];
  const endReasons = new Map<string, number>();
  let unlisten: () => void = () => undefined;

  beforeAll(async () => {
    dir = tempDir();
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, POLICY);
    ts = await startTestServer({
      policy: { file: policyFile, watch: false },
      store: { kind: 'sqlite', retainRevisions: RETAIN_REVISIONS },
      leases: { sweepIntervalMs: 100 },
      watch: { progressIntervalMs: 100 },
      limits: { ...LOAD_LIMITS, maxWatchStreamsPerFirewall: 10_000 },
    });
    // The ground truth: every commit, in order, from before the first request.
    unlisten = ts.server.store.onCommit((events) => {
      for (const e of events) {
        truth.push(truthOf(e));
        if (e.reason !== undefined) endReasons.set(e.reason, (endReasons.get(e.reason) ?? 0) + 1);
      }
    });
  });

  afterAll(async () => {
    unlisten();
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it('every watcher history is ordered, unique, gap-free, atomic per revision and resumable', async () => {
    const random = seededRandom(SEED);
    const clients = new Map<Host, OpeningClient>(
      HOSTS.map((h) => [h, hostClient(ts.address, ts.certDir, h)]),
    );
    const admin: AdminClient = adminClient(ts.address, readClientTls(ts.certDir, 'admin-alice'));
    const store = ts.server.store;
    const live = new Map<Host, string[]>(HOSTS.map((h) => [h, []]));
    const ops = { open: 0, renew: 0, release: 0, revoke: 0, batch: 0, refused: 0 };
    const unexpected: string[] = [];
    /** NOT_FOUND / FAILED_PRECONDITION: the lease ended meanwhile (expired, revoked, released). */
    const tolerate = (e: unknown): void => {
      // gRPC answers carry a numeric status; the batch's direct store commit throws PinholeError.
      const code = (e as { code?: unknown }).code;
      if (code === status.NOT_FOUND || code === status.FAILED_PRECONDITION || code === 'FAILED_PRECONDITION')
        ops.refused++;
      else unexpected.push(String(e));
    };
    const pick = (list: readonly string[]): string | undefined => list[Math.floor(random() * list.length)];

    let loadDone = false;
    /** Set once the load is over and the store is quiet: where every watcher must end. */
    const final: { revision?: number } = {};
    const watchers = WATCHERS.map((spec, i) => new Watcher(spec, ts, SEED + i + 1));
    // Two watchers start before any lease exists, the others join mid-load with a snapshot.
    const running = watchers.map(async (w, i) => {
      if (i >= 2) await sleep(300 * i);
      await w.run({
        done: () => loadDone,
        target: () => final.revision,
        storeRevision: () => store.revision,
      });
    });

    // Bounded load: 600 operations, a few in flight at once, from three hosts and an admin.
    const OPS = 600;
    let seq = 0;
    const worker = async (): Promise<void> => {
      while (seq < OPS) {
        const n = seq++;
        const host = HOSTS[Math.floor(random() * HOSTS.length)] ?? 'web-1';
        const mine = live.get(host) ?? [];
        const roll = random();
        const client = clients.get(host);
        if (client === undefined) continue;
        try {
          if (roll < 0.4 || mine.length === 0) {
            const answer = await open(client, request(host, `rb-${n}`, 1 + Math.floor(random() * 3)));
            if (answer.lease !== null) mine.push(answer.lease.id);
            ops.open++;
          } else if (roll < 0.7) {
            const id = pick(mine) ?? '';
            await unaryCall(client, client.Renew, {
              leaseId: id,
              requestedTtlSeconds: 1 + Math.floor(random() * 3),
            });
            ops.renew++;
          } else if (roll < 0.82) {
            const id = pick(mine) ?? '';
            mine.splice(mine.indexOf(id), 1);
            await unaryCall(client, client.Release, { leaseId: id });
            ops.release++;
          } else if (roll < 0.93) {
            const id = pick(mine) ?? '';
            mine.splice(mine.indexOf(id), 1);
            await unaryCall(admin, admin.Revoke, { leaseId: id, reason: 'robustness test' });
            ops.revoke++;
          } else {
            // Several lease changes in one revision (a batched renewal or revocation), committed
            // as the engine commits: one mutation, expected revisions checked, audit alongside.
            const leases = (await store.listLeases({ limit: 1000 })).slice(0, 2 + Math.floor(random() * 3));
            if (leases.length < 2) continue;
            const end = random() < 0.5;
            const now = Date.now();
            await store.commit({
              expect: leases.map((l) => ({ leaseId: l.id, revision: l.revision })),
              leases: leases.map((l: Lease) =>
                end
                  ? { kind: 'end' as const, lease: l, reason: 'revoked' as const, detail: 'batch' }
                  : { kind: 'put' as const, lease: { ...l, expiresAtMs: now + 2000, renewedAtMs: now } },
              ),
              audit: [],
            });
            ops.batch++;
          }
        } catch (e) {
          tolerate(e);
        }
        await sleep(Math.floor(random() * 15));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);

    // Quiesce: a few long leases (so the final sets are not empty), then every short one expires.
    for (const host of HOSTS) {
      const client = clients.get(host);
      if (client !== undefined) await open(client, request(host, `rb-final-${host}`, 600));
    }
    const longLived = (l: Lease): boolean => l.expiresAtMs - Date.now() > 60_000;
    while (!(await store.listLeases({ limit: 10_000 })).every(longLived)) await sleep(50);
    loadDone = true;
    const finalRevision = store.revision;
    final.revision = finalRevision;
    await Promise.all(running);
    for (const w of watchers) w.close();
    for (const c of clients.values()) c.close();
    admin.close();

    // The ground truth is the store's own: the feed matches the events still on disk.
    expect(store.revision).toBe(finalRevision);
    const log = new GroundTruth(truth);
    expect(log.check()).toEqual([]);
    expect(log.lastRevision).toBe(finalRevision);
    const retained = await store.eventsAfter(store.compactedRevision, 100_000);
    expect(retained).not.toBe('compacted');
    if (retained !== 'compacted') {
      expect(retained.map(truthOf)).toEqual(truth.filter((t) => t.revision > store.compactedRevision));
    }

    const reports = watchers.map((w) => validateWatcher(w.history, log));
    const finals = watchers.map((w) => finalStateProblem(w.history, log, finalRevision));
    const totals = reports.reduce(
      (t, r) => ({
        events: t.events + r.eventsChecked,
        revisions: t.revisions + r.revisionsApplied,
        reconnects: t.reconnects + r.reconnects,
        snapshots: t.snapshots + r.snapshots,
        resets: t.resets + r.resets,
        partial: t.partial + r.partialRevisionsDropped,
        superseded: t.superseded + r.supersededUpserts,
      }),
      { events: 0, revisions: 0, reconnects: 0, snapshots: 0, resets: 0, partial: 0, superseded: 0 },
    );
    const multi = [...log.byRevision.values()].filter((list) => list.length > 1).length;
    console.log(
      `[watch-robustness] seed ${SEED.toString(16)}: ${finalRevision} revisions (${multi} with several events), ops ${JSON.stringify(ops)}, ` +
        `ends ${JSON.stringify(Object.fromEntries(endReasons))}; ` +
        `${watchers.length} watchers: ${totals.events} events checked, ${totals.revisions} revisions applied, ` +
        `${totals.reconnects} reconnects, ${totals.snapshots} snapshots, ${totals.resets} RESETs, ` +
        `${totals.partial} partial revisions dropped at cuts, ${totals.superseded} superseded upserts`,
    );
    for (const r of reports)
      console.log(
        `[watch-robustness]   ${r.name}: ${r.eventsChecked} events, ${r.revisionsApplied} revisions, ${r.reconnects} reconnects, ` +
          `${r.snapshots} snapshots, ${r.resets} RESETs, ends at ${r.lastCompleteRevision} with ${r.finalLeases} leases`,
      );

    expect(unexpected).toEqual([]);
    expect(reports.flatMap((r) => r.violations)).toEqual([]);
    expect(finals.filter((p) => p !== undefined)).toEqual([]);
    // The run exercised what it claims to: cuts inside revisions, RESETs, multi-event revisions,
    // expiries, and a non-empty final set for every watcher.
    expect(totals.reconnects).toBeGreaterThan(20);
    expect(totals.resets).toBeGreaterThan(0);
    expect(totals.partial).toBeGreaterThan(0);
    expect(multi).toBeGreaterThan(0);
    expect(endReasons.get('expired') ?? 0).toBeGreaterThan(0);
    expect(reports.every((r) => r.finalLeases > 0)).toBe(true);
  }, 60_000);
});

describe('a resume whose backlog does not fit the queue', () => {
  let dir: string;
  let ts: TestServer;
  beforeAll(async () => {
    dir = tempDir();
    const policyFile = join(dir, 'policy.yaml');
    writeFileSync(policyFile, POLICY);
    ts = await startTestServer({
      policy: { file: policyFile, watch: false },
      watch: { queueLimit: 10, progressIntervalMs: 100 },
      limits: LOAD_LIMITS,
    });
  });
  afterAll(async () => {
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  // Regression: the catch-up was pushed into the queue before anything could read it, so a
  // backlog over watch.queueLimit cut the stream with RESOURCE_EXHAUSTED before one event left;
  // the agent resumed from the same revision and was cut again, until compaction (a livelock).
  it('gets RESET and a snapshot instead of RESOURCE_EXHAUSTED on every attempt', async () => {
    const spec = WATCHERS[0];
    if (spec === undefined) throw new Error('no watcher spec');
    const watcher = new Watcher(spec, ts, SEED);
    const web = hostClient(ts.address, ts.certDir, 'web-1');
    await open(web, request('web-1', 'backlog-seed', 600));
    const first = await watcher.session(0, { afterMs: 300 });
    watcher.sessions.push(first);
    const from = watcher.resumeFrom;
    expect(from).toBe(1);
    for (let i = 0; i < 30; i++) await open(web, request('web-1', `backlog-${i}`, 600));
    const target = ts.server.store.revision;
    const resumed = await watcher.session(from, { untilRevision: () => target });
    watcher.sessions.push(resumed);
    watcher.close();
    web.close();

    expect(resumed.end).toBe('stopped');
    expect(resumed.events[0]?.type).toBe('RESET');
    expect(resumed.events.filter((e) => e.snapshot)).toHaveLength(31);
    // The snapshot is the store's live set, and a later resume continues from its revision.
    const live = await ts.server.store.listLeases({ limit: 1000 });
    const { state, lastComplete } = replayFinalState(watcher.history);
    expect([...state.keys()].sort()).toEqual(live.map((l) => l.id).sort());
    expect(lastComplete).toBe(target);
  });
});
