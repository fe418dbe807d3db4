/**
 * The crash harness's model of what the clients were told, the bounded load that builds it, and
 * the checks a restarted server must pass against it.
 */
import { status, type ServiceError } from '@grpc/grpc-js';
import { adminClient, readClientTls, type AdminClient, type OpeningClient } from '../../client-sdk/wire.js';
import type { Lease__Output } from '../../proto/gen/pinhole/v1/Lease.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import { hostClient, unaryCall } from '../helpers/pinhole.js';
import { open, sleep } from './fixtures.js';

export type HostName = 'web-1' | 'db-1';

/** What the harness sent and what the server acknowledged, per lease. */
interface Tracked {
  readonly host: HostName;
  readonly requestId: string;
  /** Latest expiry an acknowledged Open or Renew announced. */
  ackedExpiryMs: number;
  renewSent: boolean;
  releaseSent: boolean;
  releaseAcked: boolean;
}

export interface Counts {
  sent: number;
  acknowledged: number;
  answerLostRecovered: number;
}

const request = (host: HostName, requestId: string): OpenRequest =>
  host === 'web-1'
    ? { requestId, openings: [{ app: 'https', sources: [{ any: true }] }], requestedTtlSeconds: 1800 }
    : {
        requestId,
        openings: [{ app: 'postgresql', sources: [{ group: 'web-tier' }] }],
        requestedTtlSeconds: 1800,
      };

export class CrashModel {
  /** Every Open request id ever sent, with its host (a retry must send the identical request). */
  readonly sentOpens = new Map<string, HostName>();
  readonly ackedOpens = new Set<string>();
  readonly leases = new Map<string, Tracked>();
  readonly counts: Counts = { sent: 0, acknowledged: 0, answerLostRecovered: 0 };
  /** Highest revision any answer or listing showed; a restarted server must never go below it. */
  maxRevisionSeen = 0;
  #next = 0;

  constructor(private readonly random: () => number) {}

  #ack(lease: Lease__Output | null | undefined, host: HostName, requestId: string): void {
    if (lease == null) throw new Error(`acknowledged answer for ${requestId} carries no lease`);
    this.counts.acknowledged++;
    const tracked = this.leases.get(lease.id) ?? {
      host,
      requestId,
      ackedExpiryMs: 0,
      renewSent: false,
      releaseSent: false,
      releaseAcked: false,
    };
    tracked.ackedExpiryMs = Math.max(tracked.ackedExpiryMs, Number(lease.expiresAtUnixMs));
    this.leases.set(lease.id, tracked);
    this.maxRevisionSeen = Math.max(this.maxRevisionSeen, Number(lease.revision));
  }

  #live(): [string, Tracked][] {
    return [...this.leases.entries()].filter(([, t]) => !t.releaseSent);
  }

  /** One random step: open (50%), renew (30%) or release (20%). Failures (the server died) are ignored. */
  async step(clients: Record<HostName, OpeningClient>): Promise<void> {
    const dice = this.random();
    const live = this.#live();
    const pick = live[Math.floor(this.random() * live.length)];
    try {
      if (dice < 0.5 || pick === undefined) {
        const host: HostName = this.random() < 0.5 ? 'web-1' : 'db-1';
        const requestId = `chaos-${this.#next++}`;
        this.sentOpens.set(requestId, host);
        this.counts.sent++;
        const answer = await open(clients[host], request(host, requestId));
        this.ackedOpens.add(requestId);
        this.#ack(answer.lease, host, requestId);
      } else if (dice < 0.8) {
        const [leaseId, t] = pick;
        t.renewSent = true;
        this.counts.sent++;
        const c = clients[t.host];
        const answer = await unaryCall(c, c.Renew, { leaseId, requestedTtlSeconds: 1800 });
        this.#ack(answer.lease, t.host, t.requestId);
      } else {
        const [leaseId, t] = pick;
        t.releaseSent = true;
        this.counts.sent++;
        const c = clients[t.host];
        await unaryCall(c, c.Release, { leaseId });
        t.releaseAcked = true;
        this.counts.acknowledged++;
      }
    } catch (e) {
      const code = (e as ServiceError).code;
      // While the server dies: UNAVAILABLE/CANCELLED/DEADLINE. Renewing a lease whose release
      // committed without an answer: NOT_FOUND. Two workers changing one lease at once: the
      // loser gets FAILED_PRECONDITION ("changed concurrently"). Anything else is a finding.
      const expected = [
        status.UNAVAILABLE,
        status.CANCELLED,
        status.DEADLINE_EXCEEDED,
        status.NOT_FOUND,
        status.FAILED_PRECONDITION,
        status.INTERNAL,
      ];
      if (!expected.includes(code)) throw e;
      if (code === status.INTERNAL && !(e as ServiceError).details.startsWith('internal error (request'))
        throw e;
      // A dead server fails calls at once; don't spin (and count) until the harness notices.
      if (code === status.UNAVAILABLE) await sleep(25);
    }
  }

  /**
   * Checks a restarted server against the model; returns problems (empty = consistent).
   * Also retries every Open whose answer was lost but whose lease exists: it must return that lease.
   */
  async check(address: string, certDir: string): Promise<string[]> {
    const problems: string[] = [];
    const admin: AdminClient = adminClient(address, readClientTls(certDir, 'admin-alice'));
    const clients = {
      'web-1': hostClient(address, certDir, 'web-1'),
      'db-1': hostClient(address, certDir, 'db-1'),
    };
    try {
      const listed = (await unaryCall(admin, admin.ListLeases, { includeEnded: true, limit: 10_000 })).leases;
      const byId = new Map(listed.map((l) => [l.id, l]));
      const revisions = new Set<string>();
      let maxRevision = 0;
      for (const l of listed) {
        if (revisions.has(l.revision)) problems.push(`revision ${l.revision} appears on two leases`);
        revisions.add(l.revision);
        maxRevision = Math.max(maxRevision, Number(l.revision));
        const sentBy = this.sentOpens.get(l.requestId);
        if (sentBy === undefined || sentBy !== l.host)
          problems.push(`lease ${l.id} has request id ${l.requestId} that ${l.host} never sent`);
        const t = this.leases.get(l.id);
        if (l.state === 'LEASE_ENDED') {
          if (t === undefined || !t.releaseSent)
            problems.push(`lease ${l.id} ended (${l.endReason}) but no release was sent`);
          continue;
        }
        if (t?.releaseAcked === true)
          problems.push(`lease ${l.id}: release was acknowledged but it is ${l.state}`);
        if (sentBy !== undefined && !this.ackedOpens.has(l.requestId)) {
          // Committed, answer lost (killed after commit): the retry must return this very lease.
          const answer = await open(clients[sentBy], request(sentBy, l.requestId));
          if (answer.lease?.id !== l.id)
            problems.push(`retry of ${l.requestId} returned ${answer.lease?.id ?? 'no lease'}, not ${l.id}`);
          this.ackedOpens.add(l.requestId);
          this.#ack(answer.lease, sentBy, l.requestId);
          this.counts.answerLostRecovered++;
        }
      }
      if (maxRevision < this.maxRevisionSeen)
        problems.push(`revision went back: ${maxRevision} < ${this.maxRevisionSeen} acknowledged before`);
      this.maxRevisionSeen = Math.max(this.maxRevisionSeen, maxRevision);
      for (const [id, t] of this.leases) {
        if (!this.ackedOpens.has(t.requestId)) continue;
        const l = byId.get(id);
        if (l === undefined) {
          problems.push(`acknowledged lease ${id} (${t.requestId}) is gone`);
          continue;
        }
        if (l.state === 'LEASE_ENDED') continue; // checked above: only after a release was sent
        const expiry = Number(l.expiresAtUnixMs);
        if (expiry < t.ackedExpiryMs)
          problems.push(`lease ${id} expires ${expiry}, before the acknowledged ${t.ackedExpiryMs}`);
        if (!t.renewSent && expiry !== t.ackedExpiryMs)
          problems.push(`lease ${id} was never renewed but expires ${expiry}, not ${t.ackedExpiryMs}`);
      }
    } finally {
      admin.close();
      clients['web-1'].close();
      clients['db-1'].close();
    }
    return problems;
  }

  /** After a restart, new commits must get revisions above everything seen before. */
  async probeRevision(clients: Record<HostName, OpeningClient>): Promise<string | undefined> {
    const before = this.maxRevisionSeen;
    const requestId = `chaos-${this.#next++}`;
    this.sentOpens.set(requestId, 'web-1');
    this.counts.sent++;
    const answer = await open(clients['web-1'], request('web-1', requestId));
    this.ackedOpens.add(requestId);
    this.#ack(answer.lease, 'web-1', requestId);
    const revision = Number(answer.lease?.revision ?? 0);
    return revision > before
      ? undefined
      : `first grant after restart has revision ${revision}, not above ${before}`;
  }
}
