/**
 * Certificate revocation lists: reading them for the server (which certificates a CA revoked) and
 * writing them for the development PKI (`pinhole certs revoke`). @peculiar/x509 parses, verifies
 * and signs them; node-forge cannot write CRLs and Node's crypto cannot read them.
 *
 * PEM files hold `-----BEGIN X509 CRL-----` blocks, the label OpenSSL (and so Node's TLS `crl`
 * option) reads; @peculiar/x509 would write `CRL`, so PEM is produced here from the DER.
 */
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { PinholeError } from '../core/errors.js';
import { normalizeSerial, revocationKey } from './peer.js';

/** The file `pinhole certs revoke` writes into the certificate directory, and the server's default CRL. */
export const CRL_FILE = 'crl.pem';

const PEM_LABEL = 'X509 CRL';
const SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

/** One revoked certificate. */
export interface CrlEntry {
  /** Uppercase hex, no leading zeros. */
  readonly serial: string;
  readonly revokedAt: Date;
}

/** A CRL whose signature was checked against a CA of the bundle. */
export interface VerifiedCrl {
  /** The PEM block, as handed to Node's TLS. */
  readonly pem: string;
  /** The issuing CA's subject (Node's X509Certificate form). */
  readonly issuer: string;
  /** Index of the issuing CA in the bundle. */
  readonly caIndex: number;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | undefined;
  readonly entries: readonly CrlEntry[];
  /** revocationKey() of every entry. */
  readonly revokedKeys: readonly string[];
}

/** PEM blocks with `label` in `text`, in order. */
export function pemBlocks(text: string, label: string): string[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g');
  return [...text.matchAll(pattern)].map((m) => `${m[0]}\n`);
}

function precondition(message: string, cause?: unknown): PinholeError {
  return new PinholeError('FAILED_PRECONDITION', message, cause === undefined ? {} : { cause });
}

function toPeculiar(cert: X509Certificate): x509.X509Certificate {
  return new x509.X509Certificate(new Uint8Array(cert.raw));
}

/**
 * Parses every CRL in `text` and finds the CA in `cas` that signed each. Throws FAILED_PRECONDITION
 * naming `file` and the CRL (by position) when one does not parse or no CA of the bundle signed it.
 */
export async function readCrls(
  text: string,
  file: string,
  cas: readonly X509Certificate[],
): Promise<VerifiedCrl[]> {
  const blocks = pemBlocks(text, PEM_LABEL);
  if (blocks.length === 0 && text.trim() !== '') {
    throw precondition(
      `${file}: holds no "-----BEGIN ${PEM_LABEL}-----" block; write CRLs in PEM (pinhole certs revoke does)`,
    );
  }
  const signers = cas.map(toPeculiar);
  const out: VerifiedCrl[] = [];
  for (const [i, pem] of blocks.entries()) {
    const which = `CRL #${i + 1}`;
    let crl: x509.X509Crl;
    try {
      crl = new x509.X509Crl(x509.PemConverter.decodeFirst(pem));
    } catch (err) {
      throw precondition(`${file}: ${which} could not be parsed: ${messageOf(err)}`, err);
    }
    let caIndex = -1;
    for (const [j, signer] of signers.entries()) {
      if (signer.subject !== crl.issuer) continue;
      if (await crl.verify({ publicKey: signer }, webcrypto)) {
        caIndex = j;
        break;
      }
    }
    const ca = cas[caIndex];
    if (ca === undefined) {
      throw precondition(
        `${file}: ${which} (issuer ${crl.issuer}) is not signed by any CA in the bundle; ` +
          'a CRL must come from a CA the server trusts',
      );
    }
    const entries = crl.entries.map((e) => ({
      serial: normalizeSerial(e.serialNumber),
      revokedAt: e.revocationDate,
    }));
    out.push({
      pem,
      issuer: ca.subject,
      caIndex,
      thisUpdate: crl.thisUpdate,
      nextUpdate: crl.nextUpdate,
      entries,
      revokedKeys: entries.map((e) => revocationKey(ca.subject, e.serial)),
    });
  }
  return out;
}

export interface CreateCrlOptions {
  /** The CA: its certificate and its (unencrypted PKCS#8 or PKCS#1) key. */
  readonly ca: { readonly certPem: string; readonly keyPem: string };
  readonly entries: readonly CrlEntry[];
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

/** A CRL signed by the CA (RSA, SHA-256), as PEM. Carries the CA's key identifier, so TLS finds the right CA. */
export async function createCrl(options: CreateCrlOptions): Promise<string> {
  const caCert = new x509.X509Certificate(options.ca.certPem);
  let signingKey: webcrypto.CryptoKey;
  try {
    const der = createPrivateKey(options.ca.keyPem).export({ type: 'pkcs8', format: 'der' });
    signingKey = await webcrypto.subtle.importKey('pkcs8', der, SIGNING, false, ['sign']);
  } catch (err) {
    throw precondition(
      `the CA key could not be used to sign a CRL (RSA PEM expected): ${messageOf(err)}`,
      err,
    );
  }
  // The CA's own subjectKeyIdentifier, verbatim: OpenSSL matches the CRL's authorityKeyIdentifier
  // to it, which tells apart CAs of the same name (two CAs during a rotation).
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  const aki =
    ski === null
      ? await x509.AuthorityKeyIdentifierExtension.create(caCert, false, webcrypto)
      : new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: caCert.subjectName,
      thisUpdate: options.thisUpdate,
      nextUpdate: options.nextUpdate,
      signingAlgorithm: SIGNING,
      signingKey,
      extensions: [aki],
      entries: options.entries.map((e) => ({ serialNumber: e.serial, revocationDate: e.revokedAt })),
    },
    webcrypto,
  );
  return x509.PemConverter.encode(crl.rawData, PEM_LABEL);
}

/** What `pinhole certs list` shows of a CRL file, without checking signatures. */
export function describeCrls(
  text: string,
): { issuer: string; revoked: number; nextUpdate: Date | undefined }[] {
  return pemBlocks(text, PEM_LABEL).map((pem) => {
    const crl = new x509.X509Crl(x509.PemConverter.decodeFirst(pem));
    return { issuer: crl.issuer, revoked: crl.entries.length, nextUpdate: crl.nextUpdate };
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
