/**
 * Lease receipts verify offline against the server's published key set, for the host they
 * were issued to and until they expire; altered receipts, receipts presented for another host,
 * expired ones and ones signed by another key are refused, by the library and by
 * `pinhole receipt verify`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import type { JSONWebKeySet } from 'jose';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { Lease__Output } from '../../proto/gen/pinhole/v1/Lease.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { ReceiptSigner, verifyReceipt } from '../../server/identity/receipts.js';
import {
  hostClient,
  readFileSync,
  removeDir,
  tempDir,
  unaryCall,
  writeFileSync,
  type TestServer,
} from '../helpers/pinhole.js';
import { pinhole, startAdminTestServer } from './admin-fixtures.js';

let ts: TestServer;
let web: OpeningClient;
let lease: Lease__Output;
let jwksFile: string;

/** The key set as a firewall fetches it: GET /.well-known/jwks.json with its own certificate. */
function fetchJwks(): Promise<JSONWebKeySet> {
  const [host = '', port = ''] = ts.server.adminAddress.split(':');
  const file = (name: string): Buffer => readFileSync(join(ts.certDir, name));
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host,
        port: Number(port),
        path: '/.well-known/jwks.json',
        agent: false,
        ca: file('ca.crt'),
        cert: file('firewall-gw-1.crt'),
        key: file('firewall-gw-1.key'),
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          resolve(JSON.parse(text) as JSONWebKeySet);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The same receipt with one claim changed and the original signature kept. */
function tampered(token: string): string {
  const [header = '', payload = '', signature = ''] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
    rules: { sourceCidr: string }[];
  };
  for (const r of claims.rules) r.sourceCidr = '0.0.0.0/0';
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

beforeAll(async () => {
  ts = await startAdminTestServer();
  web = hostClient(ts.address, ts.certDir, 'web-1');
  const answer: OpenResponse__Output = await unaryCall(web, web.Open, {
    requestId: 'receipt-1',
    openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    requestedTtlSeconds: 300,
  });
  lease = answer.lease!;
  // The file the server writes for offline verifiers, next to its database.
  jwksFile = join(ts.dataDir, 'receipt-jwks.json');
});

afterAll(async () => {
  web.close();
  await ts.close();
  removeDir(ts.dataDir);
});

describe('receipts, in the library', () => {
  it('verify for their host against the published key set', async () => {
    const jwks = await fetchJwks();
    expect(jwks).toEqual(JSON.parse(readFileSync(jwksFile, 'utf8')));
    const claims = await verifyReceipt(lease.receipt, jwks, { host: 'web-1' });
    expect(claims.leaseId).toBe(lease.id);
    expect(claims.host).toBe('web-1');
    expect(claims.rules).toEqual([
      {
        protocol: 'tcp',
        portFrom: 5432,
        portTo: 5432,
        sourceCidr: '198.18.1.0/24',
        destination: '198.18.0.2',
      },
    ]);
    expect(claims.expiresAtMs).toBeGreaterThanOrEqual(Number(lease.expiresAtUnixMs));
  });

  it('refuse an altered receipt, another host, an expired one and another server’s key', async () => {
    const jwks = await fetchJwks();
    await expect(verifyReceipt(tampered(lease.receipt), jwks, { host: 'web-1' })).rejects.toThrow(
      /signature does not verify/,
    );
    await expect(verifyReceipt(lease.receipt, jwks, { host: 'db-1' })).rejects.toThrow(
      /not issued to host db-1/,
    );
    const afterExpiry = Number(lease.expiresAtUnixMs) + 60_000;
    await expect(verifyReceipt(lease.receipt, jwks, { host: 'web-1', nowMs: afterExpiry })).rejects.toThrow(
      /expired/,
    );
    const otherDir = tempDir();
    try {
      const other = await ReceiptSigner.loadOrCreate(otherDir);
      await expect(verifyReceipt(lease.receipt, other.jwks)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
      });
    } finally {
      removeDir(otherDir);
    }
  });
});

describe('pinhole receipt verify', () => {
  it('exits 0 and summarises a good receipt', () => {
    const r = pinhole('receipt', 'verify', '--jwks', jwksFile, '--host', 'web-1', lease.receipt);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ok: lease ${lease.id} of host web-1, 1 rule\\(s\\), valid until `));
    expect(r.stdout).toContain('tcp/5432 from 198.18.1.0/24 to 198.18.0.2');
  });

  it('exits 1 saying why for an altered receipt, another host and an expired one', () => {
    const altered = pinhole('receipt', 'verify', '--jwks', jwksFile, tampered(lease.receipt));
    expect(altered.code).toBe(1);
    expect(altered.stdout.trim()).toBe(
      'refused: receipt refused: its signature does not verify (altered, or signed by another key)',
    );
    const otherHost = pinhole('receipt', 'verify', '--jwks', jwksFile, '--host', 'db-1', lease.receipt);
    expect(otherHost.code).toBe(1);
    expect(otherHost.stdout.trim()).toBe('refused: receipt refused: it was not issued to host db-1');
    const file = join(ts.dataDir, 'receipt.jws');
    writeFileSync(file, `${lease.receipt}\n`);
    const expired = pinhole(
      'receipt',
      'verify',
      '--jwks',
      jwksFile,
      '--at',
      new Date(Number(lease.expiresAtUnixMs) + 60_000).toISOString(),
      `@${file}`,
    );
    expect(expired.code).toBe(1);
    expect(expired.stdout.trim()).toBe('refused: receipt refused: it has expired');
  });

  it('exits 1 with an error for a key set that is not one', () => {
    const r = pinhole('receipt', 'verify', '--jwks', join(ts.dataDir, 'policy.yaml'), lease.receipt);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--jwks: .*policy\.yaml is not a readable JSON file/);
  });
});
