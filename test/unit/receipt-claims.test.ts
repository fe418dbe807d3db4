/**
 * What a receipt and a checkpoint carry once signed (server/identity/receipts.ts): the
 * issue time the caller gave, never the signing moment and never dropped, and the issuer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ReceiptSigner, verifyReceipt } from '../../server/identity/receipts.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { leaseFixture } from '../helpers/leases.js';

describe('ReceiptSigner', () => {
  let dir: string;
  let signer: ReceiptSigner;
  beforeAll(async () => {
    dir = tempDir();
    signer = await ReceiptSigner.loadOrCreate(dir);
  });
  afterAll(() => {
    removeDir(dir);
  });

  it('signs a receipt with its lease grant time as iat and its expiry as exp', async () => {
    const lease = leaseFixture({ grantedAtMs: 1_700_000_000_500, expiresAtMs: Date.now() + 600_000 });
    const token = await signer.sign(lease);
    expect(decodeProtectedHeader(token)).toEqual({
      alg: 'ES256',
      typ: 'pinhole-receipt+jwt',
      kid: signer.kid,
    });
    expect(decodeJwt(token)).toMatchObject({
      iss: 'pinhole',
      sub: lease.host,
      jti: lease.id,
      iat: 1_700_000_000,
      exp: Math.ceil(lease.expiresAtMs / 1000),
    });
    expect((await verifyReceipt(token, signer.jwks)).leaseId).toBe(lease.id);
  });

  it('signs a statement with the given iat and the server as issuer, whatever the claims say', async () => {
    const token = await signer.signStatement(
      'x-test+jwt',
      { seq: 3, iss: 'someone', iat: 1 },
      1_600_000_000_900,
    );
    expect(decodeJwt(token)).toEqual({ seq: 3, iss: 'pinhole', iat: 1_600_000_000 });
  });
});
