/**
 * The server's TLS material as one checked unit: the CA bundle client certificates must chain to,
 * the server's certificate and key, and the CRLs. Read at start and on every reload; a reload swaps
 * only material that passed every check here. That matters: grpc-js drops every new connection
 * when Node refuses a secure context (server.js `createHttp2Server`, its credentials watcher), so a
 * half-copied key or a certificate from the wrong CA must never reach the listener.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { PinholeError } from '../core/errors.js';
import { pemBlocks, readCrls, type VerifiedCrl } from './crl.js';

export interface TlsFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
  /** The CRL file; with `optional`, a missing file means no revocation (the default `crl.pem`). */
  readonly crl?: { readonly path: string; readonly optional: boolean };
}

export interface TlsMaterial {
  readonly caPem: Buffer;
  readonly certPem: Buffer;
  readonly keyPem: Buffer;
  /** One PEM block per CRL; empty without a CRL file. */
  readonly crlPems: readonly string[];
  /** The CRL file in use, if any. */
  readonly crlFile?: string;
  /** Subjects of the CAs in the bundle (Node's form), to tell when a client's CA was removed. */
  readonly caSubjects: ReadonlySet<string>;
  /** revocationKey() (peer.ts) of every revoked certificate: O(1) checks per call. */
  readonly revoked: ReadonlySet<string>;
  /** SHA-256 of the server certificate (DER), hex, for logs. */
  readonly serverFingerprint: string;
  readonly serverNotAfter: Date;
  /** The earliest CRL nextUpdate: past it, TLS refuses every client of that CA. */
  readonly crlNextUpdate?: Date;
  /** Each CRL with a nextUpdate: its CA's subject (one line) and that moment. Empty without a CRL file. */
  readonly crlExpiries: readonly CrlExpiry[];
}

export interface CrlExpiry {
  /** The issuing CA's subject, one line. */
  readonly ca: string;
  readonly nextUpdate: Date;
}

/** Node's secure context options for this material (`crl` only when there is a CRL). */
export function secureContextOptions(m: TlsMaterial): SecureContextOptions {
  return {
    ca: m.caPem,
    cert: m.certPem,
    key: m.keyPem,
    ...(m.crlPems.length > 0 ? { crl: [...m.crlPems] } : {}),
  };
}

/** True when both hold the same bytes (a reload that changes nothing is not applied). */
export function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return (
    a.caPem.equals(b.caPem) &&
    a.certPem.equals(b.certPem) &&
    a.keyPem.equals(b.keyPem) &&
    a.crlFile === b.crlFile &&
    a.crlPems.join('') === b.crlPems.join('')
  );
}

function problem(file: string, message: string, cause?: unknown): PinholeError {
  return new PinholeError('FAILED_PRECONDITION', `${file}: ${message}`, cause === undefined ? {} : { cause });
}

async function readRequiredFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw problem(
      path,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path and its permissions`,
      err,
    );
  }
}

function parseCertificates(path: string, text: string, what: string): X509Certificate[] {
  const blocks = pemBlocks(text, 'CERTIFICATE');
  if (blocks.length === 0) throw problem(path, `holds no PEM certificate; put the ${what} there`);
  return blocks.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch (err) {
      throw problem(path, `certificate #${i + 1} could not be parsed`, err);
    }
  });
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

/** Whether `leaf` reaches a CA of `cas` through the intermediates sent with it. */
function chainsTo(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  cas: readonly X509Certificate[],
): boolean {
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (cas.some((ca) => issuedBy(current, ca))) return true;
    const next = intermediates.find((i) => i !== current && issuedBy(current, i));
    if (next === undefined) return false;
    current = next;
  }
  return false;
}

/** A distinguished name in Node's form (one attribute per line) as one quoted line. */
const quoteName = (name: string): string => JSON.stringify(name.replaceAll('\n', ', '));
const describe = (c: X509Certificate): string => quoteName(c.subject);

/**
 * Reads and checks every file. Throws FAILED_PRECONDITION whose message starts with the file at
 * fault and says what is wrong and what to do.
 */
export async function loadTlsMaterial(files: TlsFiles, nowMs: number = Date.now()): Promise<TlsMaterial> {
  const [caPem, certPem, keyPem] = await Promise.all([
    readRequiredFile(files.ca),
    readRequiredFile(files.cert),
    readRequiredFile(files.key),
  ]);

  const cas = parseCertificates(files.ca, caPem.toString('utf8'), 'CA certificate(s) clients are issued by');
  for (const [i, ca] of cas.entries()) {
    if (!ca.ca) {
      throw problem(
        files.ca,
        `certificate #${i + 1} ${describe(ca)} is not a CA (basicConstraints CA:true missing); only CA certificates belong in the bundle`,
      );
    }
  }
  if (cas.every((ca) => Date.parse(ca.validTo) <= nowMs)) {
    throw problem(files.ca, 'every CA in the bundle has expired; add the current CA certificate');
  }

  const [leaf, ...intermediates] = parseCertificates(
    files.cert,
    certPem.toString('utf8'),
    'server certificate',
  );
  if (leaf === undefined) throw problem(files.cert, 'holds no certificate');
  const notAfter = new Date(Date.parse(leaf.validTo));
  if (notAfter.getTime() <= nowMs) {
    throw problem(files.cert, `expired at ${notAfter.toISOString()}; install a renewed server certificate`);
  }
  if (Date.parse(leaf.validFrom) > nowMs) {
    throw problem(
      files.cert,
      `is not valid until ${new Date(Date.parse(leaf.validFrom)).toISOString()}; check the clock or the certificate`,
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw problem(files.key, 'could not be read as an unencrypted PEM private key', err);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw problem(
      files.key,
      `does not match the certificate in ${files.cert} (another key pair); install the key issued with that certificate`,
    );
  }
  if (!chainsTo(leaf, intermediates, cas)) {
    throw problem(
      files.cert,
      `${describe(leaf)} does not chain to a CA in ${files.ca} (its issuer is ${quoteName(leaf.issuer)}); install a certificate from a CA in the bundle, or add its CA to the bundle first`,
    );
  }

  const crls = files.crl === undefined ? undefined : await readCrlFile(files.crl, cas, nowMs);
  const material: TlsMaterial = {
    caPem,
    certPem,
    keyPem,
    crlPems: crls?.list.map((c) => c.pem) ?? [],
    caSubjects: new Set(cas.map((ca) => ca.subject)),
    ...(crls === undefined ? {} : { crlFile: crls.file }),
    revoked: new Set(crls?.list.flatMap((c) => c.revokedKeys) ?? []),
    serverFingerprint: createHash('sha256').update(leaf.raw).digest('hex'),
    serverNotAfter: notAfter,
    ...(crls?.nextUpdate === undefined ? {} : { crlNextUpdate: crls.nextUpdate }),
    crlExpiries:
      crls?.list.flatMap((c) =>
        c.nextUpdate === undefined ? [] : [{ ca: c.issuer.replaceAll('\n', ', '), nextUpdate: c.nextUpdate }],
      ) ?? [],
  };
  // Whatever else Node would refuse (an unsupported key type, say) is refused here, not in the listener.
  try {
    createSecureContext(secureContextOptions(material));
  } catch (err) {
    throw problem(
      files.cert,
      `TLS refused the material: ${err instanceof Error ? err.message : String(err)}`,
      err,
    );
  }
  return material;
}

async function readCrlFile(
  spec: NonNullable<TlsFiles['crl']>,
  cas: readonly X509Certificate[],
  nowMs: number,
): Promise<{ file: string; list: VerifiedCrl[]; nextUpdate: Date | undefined } | undefined> {
  let text: string;
  try {
    text = await readFile(spec.path, 'utf8');
  } catch (err) {
    if (spec.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw problem(
      spec.path,
      `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check certs.crlFile`,
      err,
    );
  }
  const list = await readCrls(text, spec.path, cas);
  let nextUpdate: Date | undefined;
  for (const [i, ca] of cas.entries()) {
    const own = list.filter((c) => c.caIndex === i);
    // With a CRL in use, OpenSSL checks every client against its CA's CRL and refuses a client
    // whose CA has none (X509_V_FLAG_CRL_CHECK): say so now rather than refuse that CA's clients.
    if (own.length === 0) {
      throw problem(
        spec.path,
        `has no CRL of CA ${describe(ca)} (certificate #${i + 1} of the bundle); TLS would refuse every client of that CA. Add that CA's CRL, or remove the CA from the bundle`,
      );
    }
    if (own.length > 1) {
      throw problem(spec.path, `holds ${own.length} CRLs of CA ${describe(ca)}; keep only the newest`);
    }
  }
  for (const crl of list) {
    if (crl.thisUpdate.getTime() > nowMs) {
      throw problem(
        spec.path,
        `the CRL of ${quoteName(crl.issuer)} is not valid until ${crl.thisUpdate.toISOString()}; check the clock`,
      );
    }
    if (crl.nextUpdate !== undefined) {
      if (crl.nextUpdate.getTime() <= nowMs) {
        throw problem(
          spec.path,
          `the CRL of ${quoteName(crl.issuer)} expired at ${crl.nextUpdate.toISOString()} (nextUpdate); TLS would refuse every client of that CA. Issue a fresh one (pinhole certs crl)`,
        );
      }
      if (nextUpdate === undefined || crl.nextUpdate < nextUpdate) nextUpdate = crl.nextUpdate;
    }
  }
  return { file: spec.path, list, nextUpdate };
}
