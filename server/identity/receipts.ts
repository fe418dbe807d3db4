/**
 * Signed lease receipts: a compact JWS (ES256) over lease id, host, rules and expiry that
 * firewalls can verify offline with the server's published JWKS. A receipt names its host
 * (`sub`) and expires with its lease term (`exp`), so it cannot be replayed for another host
 * or after expiry.
 */
import { createPrivateKey, sign, type JsonWebKeyInput, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
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

/**
 * Signs a compact JWS: base64url(header JSON) '.' base64url(claims JSON) '.' base64url(r||s).
 * The framing is ours because neither library signs off the event loop: jose 6 signs only through
 * WebCrypto (210-350 µs of event-loop time per ES256 signature on Node 20 here), fast-jwt calls
 * node:crypto's synchronous ECDSA (~45-68 µs, ~9% of `pinhole serve`'s busy time under bench
 * figure 1). node:crypto's callback `sign` runs on the libuv threadpool, and `ieee-p1363` gives
 * the raw r||s JWS ES256 wants (RFC 7518 §3.4). Verification stays with jose.
 */
function signCompactJws(key: KeyObject, encodedHeader: string, claims: object): Promise<string> {
  const input = `${encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }, (error, signature) => {
      if (error === null) resolve(`${input}.${signature.toString('base64url')}`);
      else reject(new PinholeError('INTERNAL', `signing a ${ALG} JWS failed`, { cause: error }));
    });
  });
}

/**
 * Signs receipts and the server's other statements with one P-256 key, ES256. The key is a
 * KeyObject made once: handing node:crypto a PEM per call costs ~600 µs of parsing (OpenSSL 3).
 */
export class ReceiptSigner {
  readonly #key: KeyObject;
  /** base64url of `{"alg":"ES256","typ":…,"kid":…}` per `typ`, in the key order receipts always had. */
  readonly #headers = new Map<string, string>();
  /** Receipts asked for in this event-loop turn (see #inTurn); undefined between turns. */
  #turn: { readonly settled: Promise<unknown>[]; readonly released: Promise<unknown> } | undefined;
  readonly kid: string;
  readonly jwks: JSONWebKeySet;

  private constructor(key: KeyObject, kid: string, publicJwk: JWK) {
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
    const key = createPrivateKey({ key: privateJwk as JsonWebKeyInput['key'], format: 'jwk' });
    const signer = new ReceiptSigner(key, kid, publicJwk);
    writeFileSync(join(dataDir, 'receipt-jwks.json'), `${JSON.stringify(signer.jwks, null, 2)}\n`);
    return signer;
  }

  /**
   * Signs another statement of this server with the same key (ES256, this kid, issuer pinhole),
   * typed `typ` so it can never pass for a receipt: audit retention checkpoints (server/audit).
   */
  signStatement(typ: string, claims: JWTPayload, issuedAtMs: number): Promise<string> {
    return signCompactJws(this.#key, this.#header(typ), {
      ...claims,
      iss: ISSUER,
      iat: Math.floor(issuedAtMs / 1000),
    });
  }

  /** The lease's receipt; claims in this order, as receipts have always carried them. */
  sign(lease: Lease): Promise<string> {
    return this.#inTurn(
      signCompactJws(this.#key, this.#header(TYP), {
        rules: lease.rules,
        rid: lease.requestId,
        iss: ISSUER,
        sub: lease.host,
        jti: lease.id,
        iat: Math.floor(lease.grantedAtMs / 1000),
        exp: Math.ceil(lease.expiresAtMs / 1000),
      }),
    );
  }

  /**
   * Hands back the receipts asked for in one event-loop turn together, once the last is signed.
   * The SQLite store commits what reaches it in one turn as one transaction (one fsync); receipts
   * handed back one threadpool completion at a time split those batches. With store.thread main,
   * under bench figure 1's load, commits per transaction fell from 16 to ~8.3 at c=16 (64 to
   * 41-56 at c=64); handed back per turn they are 16 and 64 again. The worker store's batches
   * also grow while an fsync runs, and there it made no difference we could measure. The turn
   * ends at setImmediate, where the main-thread store's own flush runs.
   */
  #inTurn(job: Promise<string>): Promise<string> {
    let turn = this.#turn;
    if (turn === undefined) {
      const settled: Promise<unknown>[] = [];
      const released = new Promise<unknown>((resolve) => {
        setImmediate(() => {
          this.#turn = undefined;
          resolve(Promise.all(settled));
        });
      });
      turn = { settled, released };
      this.#turn = turn;
    }
    // Handled at once, so a failed signature is never an unhandled rejection while it waits.
    turn.settled.push(job.catch(() => undefined));
    return turn.released.then(() => job);
  }

  #header(typ: string): string {
    let header = this.#headers.get(typ);
    if (header === undefined) {
      header = Buffer.from(JSON.stringify({ alg: ALG, typ, kid: this.kid })).toString('base64url');
      this.#headers.set(typ, header);
    }
    return header;
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
