/**
 * The opening SDK against the real server over mTLS: renewals, revocation, denial, errors,
 * waiting for realized, waiting for an administrator, and release on close.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from '../../server/core/types.js';
import {
  createClient,
  PinholeClientError,
  type Opening,
  type OpeningEvents,
  type PinholeClient,
} from '../../client-sdk/index.js';
import { readClientTls, watchClient } from '../../client-sdk/wire.js';
import { removeDir, startTestServer, tempDir, unaryCall, type TestServer } from '../helpers/pinhole.js';

const admin: Identity = {
  role: 'admin',
  name: 'alice',
  trustDomain: 'pinhole.test',
  addresses: [],
  fingerprint: 'x',
  notAfterMs: Date.now() + 1e9,
};
const adminCaller = { identity: admin, peer: 'test' };

let dir: string;
let ts: TestServer;
const clients: PinholeClient[] = [];

/** A self-contained test policy (the example policy evolves): 1-second minimum terms. */
function testPolicy(defaults = '{ ttl: 5m, min_ttl: 1s, max_ttl: 1h, max_lifetime: 24h }'): string {
  return `defaults: ${defaults}
groups:
  web-tier: { hosts: ["web-*"] }
  replica-net: { cidrs: [198.18.1.0/24] }
rules:
  - id: no-telnet
    effect: deny
    requesters: [any]
    open: [tcp/23]
  - id: web-cache-replication
    requesters: [web-tier]
    open: [tcp/5432]
    from: [replica-net]
    max_ttl: 30m
  - id: ssh-by-approval
    requesters: [web-tier]
    open: [tcp/22]
    from: [replica-net]
    approval: manual
enforcers:
  gw-1: { watches: { all: true }, mode: gateway }
  web-1: { watches: { hosts: [web-1] }, mode: host }
`;
}

function client(): PinholeClient {
  const c = createClient({ server: ts.address, certDir: ts.certDir, identity: 'host-web-1', pollMs: 50 });
  clients.push(c);
  return c;
}

/** The next `name` event of an opening (unlike `events.once`, an `error` event does not reject it). */
function next<K extends keyof OpeningEvents>(
  opening: Opening,
  name: K,
  ms = 15_000,
): Promise<OpeningEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ${name} event within ${ms} ms`));
    }, ms);
    const listener = (...args: OpeningEvents[K]): void => {
      clearTimeout(timer);
      resolve(args);
    };
    opening.once(name, listener as never);
  });
}

async function rejection(p: Promise<unknown>): Promise<PinholeClientError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof PinholeClientError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const postgres = { ports: 'tcp/5432', from: ['198.18.1.0/24'], description: 'sdk test' } as const;

beforeAll(async () => {
  dir = tempDir();
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, testPolicy());
  ts = await startTestServer({ policy: { file: policy, watch: false }, admin: { listen: '127.0.0.1:0' } });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await ts.close();
  removeDir(ts.dataDir);
  removeDir(dir);
});

describe('an opening over mTLS', () => {
  it('survives five renewals with the same lease', async () => {
    const c = client();
    const opening = await c.open({ ...postgres, ttl: 2 });
    expect(opening.decision.outcome).toBe('GRANTED');
    expect(opening.rules).toEqual([
      {
        protocol: 'tcp',
        portFrom: 5432,
        portTo: 5432,
        sourceCidr: '198.18.1.0/24',
        destination: '198.18.0.2',
      },
    ]);
    const leaseId = opening.leaseId;
    const firstExpiry = opening.expiresAtMs;
    const seen: string[] = [];
    opening.on('reopened', () => seen.push('reopened'));
    opening.on('lost', () => seen.push('lost'));
    const renewals: number[] = [];
    opening.on('renewed', (e) => renewals.push(e.lease.expiresAtMs));
    while (renewals.length < 5) await next(opening, 'renewed', 5000);
    expect(opening.leaseId).toBe(leaseId);
    expect(renewals[4]).toBeGreaterThan(firstExpiry);
    expect([...renewals].sort((a, b) => a - b)).toEqual(renewals);
    expect(seen).toEqual([]);
    expect((await c.listMine()).map((l) => l.id)).toContain(leaseId);
    await opening.close();
    expect(opening.state).toBe('closed');
    expect((await c.listMine()).map((l) => l.id)).not.toContain(leaseId);
  });

  it('reports an administrator’s revocation with the reason and does not re-open', async () => {
    const c = client();
    const opening = await c.open({ ...postgres, ttl: 2 });
    const reopened: unknown[] = [];
    opening.on('reopened', (e) => reopened.push(e));
    await ts.server.engine.revoke(adminCaller, opening.leaseId, 'maintenance window for db-1');
    const [event] = await next(opening, 'revoked', 5000);
    expect(event).toEqual({ leaseId: opening.leaseId, by: 'admin', reason: 'maintenance window for db-1' });
    expect(opening.state).toBe('revoked');
    await new Promise((r) => setTimeout(r, 1500));
    expect(reopened).toEqual([]);
    expect(await c.listMine()).toEqual([]);
  });

  it('rejects a denied opening with DENIED naming the rule', async () => {
    const err = await rejection(client().open({ ports: 'tcp/23', from: '198.18.1.0/24' }));
    expect(err.code).toBe('DENIED');
    expect(err.retryable).toBe(false);
    expect(err.decision?.ruleId).toBe('no-telnet');
    expect(err.message).toMatch(/^denied by rule no-telnet: /);
  });

  it('maps server refusals to PinholeClientError with the server’s message', async () => {
    const err = await rejection(client().open({ ...postgres, destinations: ['198.18.1.10'] }));
    expect(err).toMatchObject({ code: 'PERMISSION_DENIED', retryable: false, method: 'Open' });
    expect(err.message).toContain('openings[0].destinations[0]: 198.18.1.10');
    const unknownApp = await rejection(client().open({ app: 'no-such-app', from: '198.18.1.0/24' }));
    expect(unknownApp.code).toMatch(/INVALID_ARGUMENT|DENIED/);
  });

  it('closing the client releases every opening and refuses new ones', async () => {
    const c = createClient({ server: ts.address, certDir: ts.certDir, identity: 'web-1' });
    const a = await c.open({ ...postgres, ttl: 60 });
    const b = await c.open({ ...postgres, ttl: 60, description: 'second' });
    expect(c.openings).toHaveLength(2);
    const closed = [once(a as never, 'closed'), once(b as never, 'closed')];
    await c.close();
    await Promise.all(closed);
    const check = client();
    const live = (await check.listMine()).map((l) => l.id);
    expect(live).not.toContain(a.leaseId);
    expect(live).not.toContain(b.leaseId);
    expect((await rejection(c.open(postgres))).code).toBe('CLOSED');
  });
});

describe('waitFor: realized', () => {
  it('gives up after realizedTimeoutMs when no firewall reports, releasing the lease', async () => {
    const c = client();
    const err = await rejection(
      c.open({
        ...postgres,
        ttl: 60,
        description: 'never realized',
        waitFor: 'realized',
        realizedTimeoutMs: 600,
      }),
    );
    expect(err.code).toBe('DEADLINE_EXCEEDED');
    expect(err.message).toMatch(/was not realized within 600 ms/);
    expect((await c.listMine()).filter((l) => l.description === 'never realized')).toEqual([]);
  });

  it('resolves once every enforcer covering the lease reported it applied', async () => {
    const c = client();
    let resolved = false;
    const pending = c
      .open({ ...postgres, ttl: 60, description: 'realized', waitFor: 'realized', realizedTimeoutMs: 20_000 })
      .then((o) => {
        resolved = true;
        return o;
      });
    let lease;
    while (lease === undefined) {
      await new Promise((r) => setTimeout(r, 50));
      lease = (await c.listMine()).find((l) => l.description === 'realized');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(resolved).toBe(false);
    for (const base of ['firewall-gw-1', 'firewall-web-1']) {
      const fw = watchClient(ts.address, readClientTls(ts.certDir, base));
      await unaryCall(fw, fw.ReportStatus.bind(fw), {
        appliedRevision: lease.revision,
        backend: 'command',
        mode: 'host',
      });
      fw.close();
    }
    const opening = await pending;
    expect(opening.lease?.state).toBe('realized');
    expect(opening.leaseId).toBe(lease.id);
  });
});

describe('PENDING: waiting for an administrator', () => {
  const ssh = { ports: 'tcp/22', from: '198.18.1.0/24', ttl: 60 } as const;

  async function approveNext(how: 'approve' | 'deny'): Promise<void> {
    for (;;) {
      const [p] = await ts.server.desk.list(adminCaller);
      if (p !== undefined) {
        if (how === 'approve') await ts.server.desk.approve(adminCaller, p.id, { comment: 'ok for today' });
        else await ts.server.desk.deny(adminCaller, p.id, 'not during the freeze');
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('resolves with PENDING when not waiting, then waits for the approval', async () => {
    const opening = await client().open(ssh);
    expect(opening.state).toBe('pending');
    expect(opening.decision.outcome).toBe('PENDING');
    expect(opening.pendingId).not.toBe('');
    const [decision] = await Promise.all([
      opening.waitForDecision({ timeoutMs: 10_000 }),
      approveNext('approve'),
    ]);
    expect(decision.outcome).toBe('GRANTED');
    expect(decision.reason).toMatch(/approved by alice: ok for today/);
    expect(opening.state).toBe('open');
    expect(opening.leaseId).toMatch(/^lse_/);
  });

  it('open() waits with pendingTimeoutMs and rejects DENIED with the admin’s reason', async () => {
    const [err] = await Promise.all([
      rejection(client().open({ ...ssh, pendingTimeoutMs: 10_000 })),
      approveNext('deny'),
    ]);
    expect(err.code).toBe('DENIED');
    expect(err.message).toMatch(/not during the freeze/);
  });

  it('is cancelled by its AbortSignal and times out with DEADLINE_EXCEEDED', async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 200);
    const cancelled = await rejection(
      client().open({ ...ssh, pendingTimeoutMs: 30_000, signal: controller.signal }),
    );
    expect(cancelled.code).toBe('CANCELLED');
    const timedOut = await rejection(client().open({ ...ssh, pendingTimeoutMs: 300 }));
    expect(timedOut.code).toBe('DEADLINE_EXCEEDED');
    expect(timedOut.message).toMatch(/still waiting for an administrator/);
    for (const p of await ts.server.desk.list(adminCaller))
      await ts.server.desk.deny(adminCaller, p.id, 'test cleanup');
  });
});
