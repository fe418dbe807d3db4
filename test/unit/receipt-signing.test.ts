/**
 * The bytes of a receipt once signing left fast-jwt for our own compact-JWS framing over
 * node:crypto's threadpool ECDSA (server/identity/receipts.ts): header and claims exactly as
 * before, signatures jose and the published JWKS accept, nothing else accepted, and signing
 * concurrently loses or mixes up nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
} from 'jose';
import { ReceiptSigner, verifyReceipt } from '../../server/identity/receipts.js';
import { CHECKPOINT_TYP } from '../../server/audit/checkpoint.js';
import { readJwks } from '../../server/cli/read-jwks.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { leaseFixture } from '../helpers/leases.js';

/** A test-only P-256 key: fixed, so the kid and with it the header bytes are fixed too. */
const TEST_KEY = {
  kty: 'EC',
  x: 'bg4TTQ3jMasOnqUKvoUK_XmEhvsFVZO580jFwnV2vLQ',
  y: 'Y91xdJp9NbzfYjey6YrE8DLSw_i_6SMy3hywvyqJH2o',
  crv: 'P-256',
  d: 'yURP0gpoczznm400Ihy1kf3UYu5GoqLTF1QRcXrlh00',
};

// Produced by ReceiptSigner with fast-jwt 6.3.6 (commit b68f3e0) from TEST_KEY and the lease and
// claims below. ECDSA signatures are randomized, so only the first two segments can be compared.
const FAST_JWT_RECEIPT =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6InBpbmhvbGUtcmVjZWlwdCtqd3QiLCJraWQiOiJEdGUzaEpDVk1tTzlRclN0MDJ3RGF5RW8x' +
  'TGRHbXVtSFNXN3J3ZDF1bzRRIn0.eyJydWxlcyI6W3sicHJvdG9jb2wiOiJ0Y3AiLCJwb3J0RnJvbSI6NTQzMiwicG9ydFRvIjo1' +
  'NDMyLCJzb3VyY2VDaWRyIjoiMTk4LjE4LjEuMC8yNCIsImRlc3RpbmF0aW9uIjoiMTk4LjE4LjAuMiJ9LHsicHJvdG9jb2wiOiJ1' +
  'ZHAiLCJwb3J0RnJvbSI6NTM1MywicG9ydFRvIjo1MzYwLCJzb3VyY2VDaWRyIjoiMjAwMTpkYjg6Oi82NCIsImRlc3RpbmF0aW9u' +
  'IjoiMjAwMTpkYjg6OjUzIn1dLCJyaWQiOiJyZXEtZ29sZGVuIiwiaXNzIjoicGluaG9sZSIsInN1YiI6InfDqWItMSIsImp0aSI6' +
  'ImxzZV9nb2xkZW4xIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDAwNjF9.vu8TeWCDO3jDgima-JBQyd6jn2RKsxj9K7t' +
  'AHV_kFuUl46zZ6R57rEhJUEStmGH_jv5b7cROgnh-VsDrIBriVQ';
const FAST_JWT_CHECKPOINT =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6InBpbmhvbGUtYXVkaXQtY2hlY2twb2ludCtqd3QiLCJraWQiOiJEdGUzaEpDVk1tTzlRclN0' +
  'MDJ3RGF5RW8xTGRHbXVtSFNXN3J3ZDF1bzRRIn0.eyJzZXEiOjQxLCJoYXNoIjoiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJh' +
  'YmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYiIsImZpcnN0U2VxIjoxLCJmaXJzdFByZXZIYXNoIjoiMDAwMDAw' +
  'MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCIsImNvdW50Ijo0MSwib2xk' +
  'ZXN0QXRNcyI6MTYwMDAwMDAwMDAwMCwibmV3ZXN0QXRNcyI6MTYwMDAwMDkwMDAwMCwiYmVmb3JlTXMiOjE2MDAwMDEwMDAwMDAs' +
  'InBydW5lZEF0TXMiOjE3MDAwMDAwMDA5MDAsImJ5Ijoic2VydmVyIiwiaXNzIjoicGluaG9sZSIsImlhdCI6MTcwMDAwMDAwMH0.' +
  'itP99CTvgR-zc0AYXVfyjRYRTXW3GH0IrY_z7Lb_mF0npwaPmeREbzTwzqFMX4VnU3HKDohp4R-FQpiIZbtbUw';

const goldenLease = leaseFixture({
  id: 'lse_golden1',
  host: 'wéb-1',
  requestId: 'req-golden',
  rules: [
    { protocol: 'tcp', portFrom: 5432, portTo: 5432, sourceCidr: '198.18.1.0/24', destination: '198.18.0.2' },
    {
      protocol: 'udp',
      portFrom: 5353,
      portTo: 5360,
      sourceCidr: '2001:db8::/64',
      destination: '2001:db8::53',
    },
  ],
  grantedAtMs: 1_700_000_000_500,
  expiresAtMs: 1_700_000_060_250,
});
const goldenCheckpoint = {
  seq: 41,
  hash: 'ab'.repeat(32),
  firstSeq: 1,
  firstPrevHash: '00'.repeat(32),
  count: 41,
  oldestAtMs: 1_600_000_000_000,
  newestAtMs: 1_600_000_900_000,
  beforeMs: 1_600_001_000_000,
  prunedAtMs: 1_700_000_000_900,
  by: 'server',
};
/** Within the golden receipt's term (iat 1700000000, exp 1700000061). */
const goldenNowMs = 1_700_000_030_000;

function signingInput(token: string): string {
  return token.split('.').slice(0, 2).join('.');
}

describe('ReceiptSigner compact JWS', () => {
  let dir: string;
  let signer: ReceiptSigner;
  beforeAll(async () => {
    dir = tempDir();
    writeFileSync(join(dir, 'receipt-key.jwk'), JSON.stringify(TEST_KEY));
    signer = await ReceiptSigner.loadOrCreate(dir);
  });
  afterAll(() => {
    removeDir(dir);
  });

  it('writes a receipt header and claims byte for byte as fast-jwt did, and both verify', async () => {
    const token = await signer.sign(goldenLease);
    expect(signingInput(token)).toBe(signingInput(FAST_JWT_RECEIPT));
    expect(decodeProtectedHeader(token)).toEqual(decodeProtectedHeader(FAST_JWT_RECEIPT));
    expect(decodeJwt(token)).toEqual(decodeJwt(FAST_JWT_RECEIPT));
    expect(Object.keys(decodeProtectedHeader(token))).toEqual(['alg', 'typ', 'kid']);
    expect(Object.keys(decodeJwt(token))).toEqual(['rules', 'rid', 'iss', 'sub', 'jti', 'iat', 'exp']);
    // JWS ES256 is raw r||s (64 bytes), not DER.
    expect(Buffer.from(token.split('.')[2] ?? '', 'base64url')).toHaveLength(64);
    const jwks = readJwks(join(dir, 'receipt-jwks.json'));
    for (const t of [token, FAST_JWT_RECEIPT]) {
      await expect(verifyReceipt(t, jwks, { host: 'wéb-1', nowMs: goldenNowMs })).resolves.toEqual({
        leaseId: 'lse_golden1',
        host: 'wéb-1',
        rules: goldenLease.rules,
        expiresAtMs: 1_700_000_061_000,
      });
    }
  });

  it('writes a checkpoint header and claims byte for byte as fast-jwt did, and both verify', async () => {
    const token = await signer.signStatement(
      CHECKPOINT_TYP,
      { ...goldenCheckpoint },
      goldenCheckpoint.prunedAtMs,
    );
    expect(signingInput(token)).toBe(signingInput(FAST_JWT_CHECKPOINT));
    expect(decodeProtectedHeader(token)).toEqual(decodeProtectedHeader(FAST_JWT_CHECKPOINT));
    expect(decodeJwt(token)).toEqual(decodeJwt(FAST_JWT_CHECKPOINT));
    const keys = createLocalJWKSet(readJwks(join(dir, 'receipt-jwks.json')));
    for (const t of [token, FAST_JWT_CHECKPOINT]) {
      const { payload } = await jwtVerify(t, keys, {
        typ: CHECKPOINT_TYP,
        issuer: 'pinhole',
        algorithms: ['ES256'],
      });
      expect(payload).toEqual({ ...goldenCheckpoint, iss: 'pinhole', iat: 1_700_000_000 });
    }
  });

  it('refuses a receipt whose claims, header or signature were altered', async () => {
    const token = await signer.sign(goldenLease);
    const [header = '', claims = '', signature = ''] = token.split('.');
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const otherHost = encode({ ...decodeJwt(token), sub: 'db-1' });
    const longer = encode({ ...decodeJwt(token), exp: 1_900_000_000 });
    const untyped = encode({ ...decodeProtectedHeader(token), typ: 'JWT' });
    const sig = Buffer.from(signature, 'base64url');
    sig[10] = (sig[10] ?? 0) ^ 1;
    const tampered = [
      `${header}.${otherHost}.${signature}`,
      `${header}.${longer}.${signature}`,
      `${untyped}.${claims}.${signature}`,
      `${header}.${claims}.${sig.toString('base64url')}`,
    ];
    for (const t of tampered) {
      await expect(verifyReceipt(t, signer.jwks, { nowMs: goldenNowMs })).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
        message: 'receipt refused: its signature does not verify (altered, or signed by another key)',
      });
    }
    expect.assertions(tampered.length);
  });

  it('refuses a receipt signed by another key under this kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ ...decodeJwt(await signer.sign(goldenLease)) })
      .setProtectedHeader({ alg: 'ES256', typ: 'pinhole-receipt+jwt', kid: signer.kid })
      .sign(privateKey);
    await expect(verifyReceipt(forged, signer.jwks, { nowMs: goldenNowMs })).rejects.toThrow(
      'receipt refused: its signature does not verify (altered, or signed by another key)',
    );
  });

  it('hands back the receipts asked for in one turn in one turn, so their commits share a transaction', async () => {
    const pending = Array.from({ length: 400 }, () => signer.sign(leaseFixture()));
    let laterTurn = false;
    let first = true;
    const seenInLaterTurn = await Promise.all(
      pending.map((p) =>
        p.then(() => {
          if (first) {
            first = false;
            setImmediate(() => {
              laterTurn = true;
            });
          }
          return laterTurn;
        }),
      ),
    );
    expect(seenInLaterTurn).toEqual(pending.map(() => false));
    // A receipt asked for in a later turn is a turn of its own.
    await expect(signer.sign(leaseFixture())).resolves.toMatch(/^eyJ/);
  });

  it('signs 500 receipts at once, each verifying as its own lease', async () => {
    const leases = Array.from({ length: 500 }, (_, i) =>
      leaseFixture({ host: `web-${i % 7}`, expiresAtMs: Date.now() + 600_000 }),
    );
    const tokens = await Promise.all(leases.map((lease) => signer.sign(lease)));
    const jwks = readJwks(join(dir, 'receipt-jwks.json'));
    const verified = await Promise.all(
      tokens.map((token, i) => verifyReceipt(token, jwks, { host: leases[i]?.host ?? '' })),
    );
    expect(verified.map((claims) => claims.leaseId)).toEqual(leases.map((lease) => lease.id));
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});
