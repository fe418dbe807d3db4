/**
 * Signed lease receipts: a compact JWS (ES256) over lease id, host, rules and expiry that
 * firewalls can verify offline with the server's published JWKS. A receipt names its host
 * (`sub`) and expires with its lease term (`exp`), so it cannot be replayed for another host
 * or after expiry.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type CryptoKey,
} from 'jose';
import { PinholeError } from '../core/errors.js';
import type { ConcreteRule, Lease } from '../core/types.js';

const ALG = 'ES256';
const TYP = 'pinhole-receipt+jwt';
const ISSUER = 'pinhole';

export interface ReceiptClaims {
  readonly leaseId: string;
  readonly host: string;
  readonly rules: readonly ConcreteRule[];
  readonly expiresAtMs: number;
}

export class ReceiptSigner {
  readonly #key: CryptoKey;
  readonly kid: string;
  readonly jwks: JSONWebKeySet;

  private constructor(key: CryptoKey, kid: string, publicJwk: JWK) {
    this.#key = key;
    this.kid = kid;
    this.jwks = { keys: [{ ...publicJwk, kid, alg: ALG, use: 'sig' }] };
  }

  /**
   * Loads the signing key from `<dataDir>/receipt-key.jwk` or creates it (mode 0600), and
   * writes the public JWKS to `<dataDir>/receipt-jwks.json` for offline verifiers.
   */
  static async loadOrCreate(dataDir: string): Promise<ReceiptSigner> {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const keyFile = join(dataDir, 'receipt-key.jwk');
    let privateJwk: JWK;
    if (existsSync(keyFile)) {
      privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
    } else {
      const { privateKey } = await generateKeyPair(ALG, { extractable: true });
      privateJwk = await exportJWK(privateKey);
      writeFileSync(keyFile, JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
    }
    const publicJwk: JWK = { ...privateJwk };
    delete publicJwk.d; // the private part never leaves this file
    const kid = await calculateJwkThumbprint(publicJwk);
    const key = (await importJWK(privateJwk, ALG)) as CryptoKey;
    const signer = new ReceiptSigner(key, kid, publicJwk);
    writeFileSync(join(dataDir, 'receipt-jwks.json'), `${JSON.stringify(signer.jwks, null, 2)}\n`);
    return signer;
  }

  sign(lease: Lease): Promise<string> {
    return new SignJWT({ rules: lease.rules, rid: lease.requestId })
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: TYP })
      .setIssuer(ISSUER)
      .setSubject(lease.host)
      .setJti(lease.id)
      .setIssuedAt(Math.floor(lease.grantedAtMs / 1000))
      .setExpirationTime(Math.ceil(lease.expiresAtMs / 1000))
      .sign(this.#key);
  }
}

/**
 * Verifies a receipt against a JWKS. `host`, when given, must be the host the receipt was
 * issued to. Throws PERMISSION_DENIED saying why a receipt is refused.
 */
export async function verifyReceipt(
  token: string,
  jwks: JSONWebKeySet,
  options: { host?: string; nowMs?: number } = {},
): Promise<ReceiptClaims> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      typ: TYP,
      algorithms: [ALG],
      ...(options.host === undefined ? {} : { subject: options.host }),
      ...(options.nowMs === undefined ? {} : { currentDate: new Date(options.nowMs) }),
    });
    if (
      typeof payload.jti !== 'string' ||
      typeof payload.sub !== 'string' ||
      typeof payload.exp !== 'number' ||
      !Array.isArray(payload.rules)
    ) {
      throw new Error('the receipt lacks lease id, host, expiry or rules');
    }
    return {
      leaseId: payload.jti,
      host: payload.sub,
      rules: payload.rules as ConcreteRule[],
      expiresAtMs: payload.exp * 1000,
    };
  } catch (cause) {
    const code = typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : '';
    const why =
      code === 'ERR_JWT_EXPIRED'
        ? 'it has expired'
        : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && options.host !== undefined
          ? `it was not issued to host ${options.host}`
          : code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED'
            ? 'its signature does not verify (altered, or signed by another key)'
            : cause instanceof Error
              ? cause.message
              : String(cause);
    throw new PinholeError('PERMISSION_DENIED', `receipt refused: ${why}`, { cause });
  }
}
