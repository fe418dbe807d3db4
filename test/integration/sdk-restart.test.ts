/**
 * What a server restart looks like to an application holding an opening: invisible with the same
 * store; a re-open (`reopened`, new lease) after the store was lost; nothing while the server is
 * away for several renewal attempts but back before expiry; `lost` then a re-open when it is not.
 * Every restart reuses the port, as a real deployment does.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createClient,
  type Opening,
  type OpeningEvents,
  type PinholeClient,
} from '../../client-sdk/index.js';
import { removeDir, sharedPki, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';

let dir: string;
let policy: string;
let ts: TestServer | undefined;
const clients: PinholeClient[] = [];
const dataDirs: string[] = [];

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

async function start(dataDir: string, port = 0): Promise<TestServer> {
  ts = await startTestServer(
    { listen: `127.0.0.1:${port}`, policy: { file: policy, watch: false }, admin: { listen: '127.0.0.1:0' } },
    { dataDir, certDir: sharedPki() },
  );
  return ts;
}

async function stop(): Promise<void> {
  await ts?.close();
  ts = undefined;
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

function freshDataDir(): string {
  const d = tempDir();
  dataDirs.push(d);
  return d;
}

/** Events of an opening in arrival order, as `name` or `name:detail`. */
function record(opening: Opening): string[] {
  const log: string[] = [];
  opening.on('renewed', () => log.push('renewed'));
  opening.on('reopened', (e) => log.push(`reopened:${e.why}`));
  opening.on('lost', () => log.push('lost'));
  opening.on('revoked', () => log.push('revoked'));
  opening.on('error', (e) => log.push(`error:${e.code}`));
  return log;
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

async function openOn(server: TestServer, ttl: number): Promise<{ client: PinholeClient; opening: Opening }> {
  const client = createClient({ server: server.address, certDir: server.certDir, identity: 'host-web-1' });
  clients.push(client);
  const opening = await client.open({
    ports: 'tcp/5432',
    from: '198.18.1.0/24',
    ttl,
    description: 'restart test',
  });
  return { client, opening };
}

beforeAll(() => {
  dir = tempDir();
  policy = join(dir, 'policy.yaml');
  writeFileSync(policy, testPolicy());
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await stop();
});

afterAll(() => {
  for (const d of [dir, ...dataDirs]) removeDir(d);
});

describe('server restarts', () => {
  it('a restart with the same store is invisible: same lease, renewals continue, no re-open', async () => {
    const dataDir = freshDataDir();
    const first = await start(dataDir);
    const { client, opening } = await openOn(first, 3);
    const log = record(opening);
    const leaseId = opening.leaseId;
    await next(opening, 'renewed');
    await stop();
    const second = await start(dataDir, portOf(first.address));
    expect(second.server.epoch).toBe(first.server.epoch);
    const before = log.filter((e) => e === 'renewed').length;
    while (log.filter((e) => e === 'renewed').length < before + 2) await next(opening, 'renewed');
    expect(opening.leaseId).toBe(leaseId);
    expect(opening.state).toBe('open');
    expect(log.filter((e) => e.startsWith('reopened') || e === 'lost')).toEqual([]);
    expect(client.serverEpoch).toBe(first.server.epoch);
  });

  it('a restart with a new, empty store makes the SDK open again and emit reopened', async () => {
    const first = await start(freshDataDir());
    const { client, opening } = await openOn(first, 2);
    const log = record(opening);
    const oldLease = opening.leaseId;
    await stop();
    const second = await start(freshDataDir(), portOf(first.address));
    expect(second.server.epoch).not.toBe(first.server.epoch);
    const [event] = await next(opening, 'reopened');
    expect(event.why).toBe('new-epoch');
    expect(event.previousLeaseId).toBe(oldLease);
    expect(event.lease.id).not.toBe(oldLease);
    expect(event.lease.serverEpoch).toBe(second.server.epoch);
    expect(event.lease.requestId).not.toBe(
      opening.lease?.requestId === event.lease.requestId ? '' : event.lease.requestId,
    );
    expect(opening.leaseId).toBe(event.lease.id);
    expect(opening.state).toBe('open');
    await next(opening, 'renewed'); // and it is kept alive on the new server
    expect((await client.listMine()).map((l) => l.id)).toEqual([event.lease.id]);
    expect(log).not.toContain('lost');
  });

  it('a server away for three renewal attempts but back before expiry never loses the lease', async () => {
    const dataDir = freshDataDir();
    const first = await start(dataDir);
    // A 20 s term: attempts at 1/2-5/8, 3/4 and 7/8 fail; the next one (at 18.75 s) finds it back.
    const { opening } = await openOn(first, 20);
    const log = record(opening);
    const leaseId = opening.leaseId;
    const expiresAtMs = opening.expiresAtMs;
    await stop();
    while (log.filter((e) => e === 'error:UNAVAILABLE').length < 3) await next(opening, 'error', 20_000);
    expect(Date.now()).toBeLessThan(expiresAtMs);
    await start(dataDir, portOf(first.address));
    const [renewed] = await next(opening, 'renewed', 10_000);
    expect(renewed.lease.id).toBe(leaseId);
    expect(renewed.previousExpiresAtMs).toBe(expiresAtMs);
    expect(log.filter((e) => e.startsWith('reopened') || e === 'lost')).toEqual([]);
  }, 45_000);

  it('a lease that expires while the server is away is reported lost, then re-opened', async () => {
    const dataDir = freshDataDir();
    const first = await start(dataDir);
    const { opening } = await openOn(first, 2);
    const log = record(opening);
    const oldLease = opening.leaseId;
    await stop();
    const [lost] = await next(opening, 'lost');
    expect(lost.leaseId).toBe(oldLease);
    expect(lost.error?.code).toBe('UNAVAILABLE');
    expect(opening.state).toBe('lost');
    await start(dataDir, portOf(first.address));
    const [reopened] = await next(opening, 'reopened');
    expect(reopened.why).toBe('lost');
    expect(reopened.lease.id).not.toBe(oldLease);
    expect(opening.state).toBe('open');
    expect(log.filter((e) => e === 'lost')).toHaveLength(1);
  });
});
