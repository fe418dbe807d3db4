/**
 * Issue 10, certificates: every kind of bad client certificate is refused, either in the TLS
 * handshake (the call fails UNAVAILABLE without reaching a handler) or by identity checks
 * (UNAUTHENTICATED) or by role (PERMISSION_DENIED). One table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials, status } from '@grpc/grpc-js';
import { createCa, issueCertificate, readTrustDomain, type PemPair } from '../../server/identity/pki.js';
import { adminClient, openingClient, readClientTls } from '../../client-sdk/wire.js';
import { callError, removeDir, startTestServer, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { webHttps } from './fixtures.js';
import { rawUnary } from './wire.js';

const DAY = 86_400_000;
let ts: TestServer;
let ca: PemPair;
let caPem: Buffer;
let trustDomain: string;

beforeAll(async () => {
  ts = await startTestServer();
  caPem = readFileSync(join(ts.certDir, 'ca.crt'));
  ca = { certPem: caPem.toString('utf8'), keyPem: readFileSync(join(ts.certDir, 'ca.key'), 'utf8') };
  trustDomain = readTrustDomain(ts.certDir);
});
afterAll(async () => {
  await ts.close();
  removeDir(ts.dataDir);
});

type Maker = () => { pair: PemPair; role?: 'host' | 'firewall' | 'admin' };
const host = (extra: Partial<Parameters<typeof issueCertificate>[0]> = {}): PemPair =>
  issueCertificate({ ca, role: 'host', name: 'web-1', trustDomain, ips: ['198.18.0.2'], ...extra });

/** [case, certificate, allowed status codes, message pattern for non-handshake refusals] */
const cases: [string, Maker, readonly status[], RegExp][] = [
  [
    'expired',
    () => ({
      pair: host({ notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) }),
    }),
    [status.UNAVAILABLE],
    /./,
  ],
  [
    'not yet valid',
    () => ({
      pair: host({ notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 3 * DAY) }),
    }),
    [status.UNAVAILABLE],
    /./,
  ],
  [
    'signed by another CA',
    () => {
      const other = createCa({ trustDomain, days: 30 });
      return {
        pair: issueCertificate({ ca: other, role: 'host', name: 'web-1', trustDomain, ips: ['198.18.0.2'] }),
      };
    },
    [status.UNAVAILABLE],
    /./,
  ],
  [
    'a leaf with CA:true',
    () => ({ pair: host({ isCa: true }) }),
    [status.UNAVAILABLE, status.UNAUTHENTICATED],
    /CA certificate/,
  ],
  [
    'two URI SANs',
    () => ({ pair: host({ extraUris: [`spiffe://${trustDomain}/host/db-1`] }) }),
    [status.UNAUTHENTICATED],
    /has 2 URI SANs; expected exactly one/,
  ],
  [
    'no SPIFFE URI SAN',
    () => ({ pair: host({ omitSpiffeUri: true }) }),
    [status.UNAUTHENTICATED],
    /has 0 URI SANs/,
  ],
  [
    'a foreign trust domain',
    () => ({
      pair: issueCertificate({
        ca,
        role: 'host',
        name: 'web-1',
        trustDomain: 'evil.example',
        ips: ['198.18.0.2'],
      }),
    }),
    [status.UNAUTHENTICATED],
    /foreign trust domain "evil.example"/,
  ],
  [
    'wrong role: a firewall calling Open',
    () => ({ pair: issueCertificate({ ca, role: 'firewall', name: 'gw-1', trustDomain }) }),
    [status.PERMISSION_DENIED],
    /firewall/,
  ],
  [
    'wrong role: an admin calling Open',
    () => ({ pair: issueCertificate({ ca, role: 'admin', name: 'alice', trustDomain }) }),
    [status.PERMISSION_DENIED],
    /admin/,
  ],
  [
    'wrong role: a host calling Admin',
    () => ({ pair: host(), role: 'admin' }),
    [status.PERMISSION_DENIED],
    /host/,
  ],
];

describe('bad client certificates are refused', () => {
  it.each(cases.map(([label, make, codes, message]) => ({ label, make, codes, message })))(
    '$label',
    async ({ make, codes, message }) => {
      const { pair, role } = make();
      const tls = { ca: caPem, cert: Buffer.from(pair.certPem), key: Buffer.from(pair.keyPem) };
      const options = { 'grpc.initial_reconnect_backoff_ms': 100 };
      let err;
      if (role === 'admin') {
        const client = adminClient(ts.address, tls, options);
        err = await callError(unaryCall(client, client.ListLeases, {}));
        client.close();
      } else {
        const client = openingClient(ts.address, tls, options);
        err = await callError(
          unaryCall(client, client.Open, webHttps(`cert-${Math.random().toString(36).slice(2)}`)),
        );
        client.close();
      }
      expect(codes).toContain(err.code);
      if (err.code !== status.UNAVAILABLE) expect(err.details).toMatch(message);
      // Nothing was granted to anyone by a refused certificate.
      expect((await ts.server.store.listLeases({})).length).toBe(0);
    },
  );

  it('the real certificate of web-1 still works (the table is not refusing everything)', async () => {
    const client = openingClient(ts.address, readClientTls(ts.certDir, 'host-web-1'));
    const answer = await unaryCall(client, client.Open, webHttps('cert-good'));
    expect(answer.decision?.outcome).toBe('GRANTED');
    client.close();
  });
});

describe('no client certificate', () => {
  it('is refused in the handshake', async () => {
    const client = new Client(ts.address, credentials.createSsl(caPem));
    const outcome = await rawUnary(client, '/pinhole.v1.Opening/ListMine', Buffer.alloc(0));
    expect(outcome.code).toBe(status.UNAVAILABLE);
    client.close();
  });
});
