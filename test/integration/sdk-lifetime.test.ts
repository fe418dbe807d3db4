/**
 * Max lifetime: renewals stop extending a lease at its max lifetime; the SDK then opens again
 * (policy checked anew) before the old lease ends, and releases the old one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createClient,
  type Opening,
  type OpeningEvents,
  type PinholeClient,
} from '../../client-sdk/index.js';
import { removeDir, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';

let dir: string;
let ts: TestServer;
let client: PinholeClient;

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

beforeAll(async () => {
  dir = tempDir();
  const policy = join(dir, 'policy.yaml');
  // Terms of 2 s, and a lease may live 5 s in all before it must be opened again.
  writeFileSync(policy, testPolicy('{ ttl: 2s, min_ttl: 1s, max_ttl: 2s, max_lifetime: 5s }'));
  ts = await startTestServer({ policy: { file: policy, watch: false }, admin: { listen: '127.0.0.1:0' } });
  client = createClient({ server: ts.address, certDir: ts.certDir, identity: 'host-web-1' });
});

afterAll(async () => {
  await client.close();
  await ts.close();
  removeDir(ts.dataDir);
  removeDir(dir);
});

describe('max lifetime', () => {
  it('opens again with a new request id before the old lease ends, and releases the old one', async () => {
    const opening = await client.open({ ports: 'tcp/5432', from: '198.18.1.0/24', ttl: 2 });
    const first = opening.lease!;
    expect(first.maxLifetimeEndsAtMs - first.grantedAtMs).toBe(5000);
    const lost: unknown[] = [];
    opening.on('lost', (e) => lost.push(e));
    const [event] = await next(opening, 'reopened', 10_000);
    expect(event.why).toBe('max-lifetime');
    expect(event.previousLeaseId).toBe(first.id);
    expect(event.lease.id).not.toBe(first.id);
    expect(event.lease.requestId).not.toBe(first.requestId);
    expect(Date.now()).toBeLessThan(first.maxLifetimeEndsAtMs); // no gap: the old lease still held
    expect(opening.requestId).toBe(event.lease.requestId);
    await next(opening, 'renewed');
    const live = (await client.listMine()).map((l) => l.id);
    expect(live).toEqual([event.lease.id]); // the old one was released
    expect(lost).toEqual([]);
  });
});
