/**
 * Foundation, end to end: real mTLS on loopback, real SQLite, the example policy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, credentials, type ServiceError } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, issueCertificate } from '../../server/identity/pki.js';
import { openingClient, readClientTls, type OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { RenewResponse__Output } from '../../proto/gen/pinhole/v1/RenewResponse.js';
import type { ReleaseResponse__Output } from '../../proto/gen/pinhole/v1/ReleaseResponse.js';
import type { ListMineResponse__Output } from '../../proto/gen/pinhole/v1/ListMineResponse.js';
import {
  callError,
  hostClient,
  removeDir,
  startTestServer,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';

let ts: TestServer;
let web: OpeningClient;
let db: OpeningClient;

const postgresFromReplicas = (requestId: string, extra: Partial<OpenRequest> = {}): OpenRequest => ({
  requestId,
  openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
  requestedTtlSeconds: 300,
  description: 'orders service database listener',
  ...extra,
});

const open = (c: OpeningClient, r: OpenRequest): Promise<OpenResponse__Output> => unaryCall(c, c.Open, r);
const renew = (c: OpeningClient, leaseId: string): Promise<RenewResponse__Output> =>
  unaryCall(c, c.Renew, { leaseId });
const release = (c: OpeningClient, leaseId: string): Promise<ReleaseResponse__Output> =>
  unaryCall(c, c.Release, { leaseId });
const listMine = (c: OpeningClient): Promise<ListMineResponse__Output> => unaryCall(c, c.ListMine, {});

beforeAll(async () => {
  ts = await startTestServer();
  web = hostClient(ts.address, ts.certDir, 'web-1');
  db = hostClient(ts.address, ts.certDir, 'db-1');
});

afterAll(async () => {
  web.close();
  db.close();
  await ts.close();
  removeDir(ts.dataDir);
});

describe('Open, Renew, Release, ListMine over mTLS', () => {
  it('grants tcp/5432 from 198.18.1.0/24 with a complete lease', async () => {
    const answer = await open(web, postgresFromReplicas('grant-1'));
    expect(answer.decision?.outcome).toBe('GRANTED');
    expect(answer.decision?.ruleId).not.toBe('');
    expect(answer.decision?.reason).not.toBe('');
    const lease = answer.lease!;
    expect(lease.id).toMatch(/^lse_/);
    expect(lease.host).toBe('web-1');
    expect(lease.rules).toEqual([
      {
        protocol: 'TCP',
        portFrom: 5432,
        portTo: 5432,
        sourceCidr: '198.18.1.0/24',
        destination: '198.18.0.2',
      },
    ]);
    expect(lease.ttlSeconds).toBeGreaterThan(0);
    expect(Number(lease.expiresAtUnixMs)).toBe(Number(lease.grantedAtUnixMs) + lease.ttlSeconds * 1000);
    expect(Number(lease.revision)).toBeGreaterThan(0);
    expect(typeof lease.revision).toBe('string'); // int64 as string: no precision loss
    expect(answer.serverEpoch).toBe(ts.server.epoch);
    expect(lease.serverEpoch).toBe(ts.server.epoch);
    expect(lease.state).toBe('LEASE_GRANTED');
  });

  it('renews (later expiry, higher revision) and releases', async () => {
    const granted = (await open(web, postgresFromReplicas('renew-1'))).lease!;
    await new Promise((r) => setTimeout(r, 20));
    const renewed = (await renew(web, granted.id)).lease!;
    expect(Number(renewed.expiresAtUnixMs)).toBeGreaterThan(Number(granted.expiresAtUnixMs));
    expect(Number(renewed.revision)).toBeGreaterThan(Number(granted.revision));
    expect(Number(renewed.renewedAtUnixMs)).toBeGreaterThan(0);
    const released = (await release(web, granted.id)).lease!;
    expect(released.state).toBe('LEASE_ENDED');
    expect(released.endReason).toBe('RELEASED');
    const again = await release(web, granted.id);
    expect(again.lease?.state).toBe('LEASE_ENDED'); // releasing twice is not an error
    const err = await callError(renew(web, granted.id));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toMatch(/Open again/);
  });

  it('ListMine shows only the caller’s live leases', async () => {
    const mine = (await open(web, postgresFromReplicas('list-web'))).lease!;
    const theirs = await open(db, {
      requestId: 'list-db',
      openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ group: 'db-replicas' }] }],
      requestedTtlSeconds: 60,
    });
    const webList = await listMine(web);
    const ids = webList.leases.map((l) => l.id);
    expect(ids).toContain(mine.id);
    expect(webList.leases.every((l) => l.host === 'web-1')).toBe(true);
    if (theirs.lease) expect(ids).not.toContain(theirs.lease.id);
    const dbList = await listMine(db);
    expect(dbList.leases.every((l) => l.host === 'db-1')).toBe(true);
    expect(dbList.leases.map((l) => l.id)).not.toContain(mine.id);
  });

  it('another host cannot renew or release my lease', async () => {
    const mine = (await open(web, postgresFromReplicas('foreign-1'))).lease!;
    expect((await callError(renew(db, mine.id))).code).toBe(status.NOT_FOUND);
    expect((await callError(release(db, mine.id))).code).toBe(status.NOT_FOUND);
    expect((await listMine(web)).leases.map((l) => l.id)).toContain(mine.id);
  });

  it('denies tcp/23 naming the deny rule', async () => {
    const answer = await open(web, {
      requestId: 'telnet-1',
      openings: [{ ports: { protocol: 'TCP', from: 23, to: 23 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    });
    expect(answer.decision?.outcome).toBe('DENIED');
    expect(answer.decision?.ruleId).toBe('no-telnet');
    expect(answer.lease).toBeNull();
  });

  it('refuses to open another host’s address with PERMISSION_DENIED naming it', async () => {
    const err = await callError(
      open(web, {
        requestId: 'third-party-1',
        openings: [
          {
            ports: { protocol: 'TCP', from: 5432, to: 5432 },
            destinations: ['198.18.1.10'],
            sources: [{ cidr: '198.18.1.0/24' }],
          },
        ],
      }),
    );
    expect(err.code).toBe(status.PERMISSION_DENIED);
    expect(err.details).toContain('198.18.1.10');
    expect(err.details).toContain('openings[0].destinations[0]');
  });
});

describe('idempotency', () => {
  it('the same request_id twice yields one lease and the same answer', async () => {
    const first = await open(web, postgresFromReplicas('idem-1'));
    const second = await open(web, postgresFromReplicas('idem-1'));
    expect(second.lease?.id).toBe(first.lease?.id);
    expect(second.lease?.revision).toBe(first.lease?.revision);
    const concurrent = await Promise.all([1, 2, 3].map(() => open(web, postgresFromReplicas('idem-2'))));
    expect(new Set(concurrent.map((a) => a.lease?.id)).size).toBe(1);
    const live = (await listMine(web)).leases.filter(
      (l) => l.requestId === 'idem-1' || l.requestId === 'idem-2',
    );
    expect(live).toHaveLength(2);
  });

  it('reusing a request_id for a different request is refused', async () => {
    await open(web, postgresFromReplicas('idem-3'));
    const err = await callError(open(web, postgresFromReplicas('idem-3', { requestedTtlSeconds: 120 })));
    expect(err.code).toBe(status.ALREADY_EXISTS);
    expect(err.details).toMatch(/request_id/);
  });
});

describe('who may call', () => {
  it('an admin or firewall certificate calling Open gets PERMISSION_DENIED', async () => {
    for (const base of ['admin-alice', 'firewall-gw-1']) {
      const client = openingClient(ts.address, readClientTls(ts.certDir, base));
      const err = await callError(open(client, postgresFromReplicas(`role-${base}`)));
      client.close();
      expect(err.code).toBe(status.PERMISSION_DENIED);
      expect(err.details).toMatch(/host certificate/);
    }
  });

  it('refuses at the handshake: a certificate from another CA, an expired one, and none', async () => {
    const td = readFileSync(join(ts.certDir, 'trust-domain'), 'utf8').trim();
    const ca = {
      certPem: readFileSync(join(ts.certDir, 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(ts.certDir, 'ca.key'), 'utf8'),
    };
    const caPem = readFileSync(join(ts.certDir, 'ca.crt'));
    const otherCa = createCa({ trustDomain: td, days: 30 });
    const foreign = issueCertificate({
      ca: otherCa,
      role: 'host',
      name: 'web-1',
      trustDomain: td,
      ips: ['198.18.0.2'],
    });
    const expired = issueCertificate({
      ca,
      role: 'host',
      name: 'web-1',
      trustDomain: td,
      ips: ['198.18.0.2'],
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const before = (await ts.server.store.auditRecords({ limit: 100_000 })).length;
    const attempts: [string, OpeningClient][] = [
      [
        'foreign CA',
        openingClient(ts.address, {
          ca: caPem,
          cert: Buffer.from(foreign.certPem),
          key: Buffer.from(foreign.keyPem),
        }),
      ],
      [
        'expired',
        openingClient(ts.address, {
          ca: caPem,
          cert: Buffer.from(expired.certPem),
          key: Buffer.from(expired.keyPem),
        }),
      ],
    ];
    const { Opening } = (await import('../helpers/raw-proto.js')).rawOpening();
    attempts.push(['no certificate', new Opening(ts.address, credentials.createSsl(caPem))]);
    for (const [label, client] of attempts) {
      const err: ServiceError = await callError(open(client, postgresFromReplicas(`handshake-${label}`)));
      client.close();
      expect(err.code, label).toBe(status.UNAVAILABLE);
    }
    // No handler ran: nothing was decided or recorded.
    expect((await ts.server.store.auditRecords({ limit: 100_000 })).length).toBe(before);
  });
});
