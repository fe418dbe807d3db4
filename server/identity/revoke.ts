/**
 * Revocation in the development PKI: `pinhole certs revoke` adds a certificate to `crl.pem` in the
 * certificate directory, signed by the CA that issued it; `pinhole certs crl` re-signs the CRLs
 * with a fresh nextUpdate. The server reloads the file on change and on SIGHUP
 * (server/identity/tls-runtime.ts).
 *
 * `ca.crt` may hold several CAs (a rotation). With a CRL file, the server requires one CRL per CA
 * of the bundle, so the file is always written whole: one CRL per bundle CA, in bundle order. A
 * CA's CRL is signed with its key, found among `ca.key` and `ca-<name>.key` in the directory by
 * matching the public key; the CRL of a CA whose key is not there is kept as it is.
 *
 * Concurrent runs are serialized by a lock file (file-lock.ts): each is a read-modify-write, and
 * two revokes that read the same list must not each write a list missing the other's entry.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { invalid, PinholeError } from '../core/errors.js';
import { createCrl, CRL_FILE, pemBlocks, readCrls, type CrlEntry, type VerifiedCrl } from './crl.js';
import { withFileLock } from './file-lock.js';
import { normalizeSerial } from './peer.js';
import { readRequired, writeFileAtomic } from './pki.js';

const DAY_MS = 86_400_000;
/** As for certificates (pki.ts): a peer whose clock is slightly behind still accepts the CRL. */
const CLOCK_SKEW_MS = 5 * 60_000;
const MAX_DAYS = 36_500;
/** The CA keys looked for in the directory: `ca.key` (the dev PKI's) and `ca-<name>.key`. */
const CA_KEY_FILE = /^ca(-[A-Za-z0-9._-]+)?\.key$/;

export interface CrlInDirOptions {
  readonly dir: string;
  /** Days until nextUpdate; default 365, clamped to the CA's expiry. Servers refuse every client of the CA after it. */
  readonly days?: number;
  readonly nowMs?: number;
}

/** What became of one bundle CA's CRL. */
export interface CrlOfCa {
  /** The CA's subject, one line. */
  readonly ca: string;
  /** `signed`: written now with its key; `kept`: copied from the old file (its key is not in the directory). */
  readonly action: 'signed' | 'kept';
  readonly revoked: number;
  readonly nextUpdate: Date | undefined;
}

export interface CrlWritten {
  readonly file: string;
  /** Revoked certificates across all CRLs. */
  readonly revoked: number;
  /** The earliest nextUpdate of the file's CRLs: renew before it. */
  readonly nextUpdate: Date;
  /** One per CA of the bundle, in bundle order. */
  readonly crls: readonly CrlOfCa[];
}

export interface Revoked extends CrlWritten {
  readonly certificate: string;
  readonly serial: string;
  readonly subject: string;
  /** The certificate was already on the list (the CRL is re-signed all the same). */
  readonly already: boolean;
}

interface BundleCa {
  readonly cert: X509Certificate;
  readonly pem: string;
  /** Its private key from the directory, if there. */
  readonly keyPem: string | undefined;
  /** Its CRLs in the old file (normally one). */
  readonly old: readonly VerifiedCrl[];
}

/**
 * Revokes `target`: a base name in `dir` (`host-web-1`), or a path to a `.crt` file. The certificate
 * must have been issued by a CA in `dir/ca.crt` whose key is in `dir`, since only that CA's CRL can
 * revoke it.
 */
export async function revokeInDir(target: string, options: CrlInDirOptions): Promise<Revoked> {
  const path = target.endsWith('.crt') || target.includes('/') ? target : join(options.dir, `${target}.crt`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(fs.readFileSync(path));
  } catch (err) {
    throw new PinholeError(
      'NOT_FOUND',
      `${path} could not be read as a certificate; name one in ${options.dir} (e.g. host-web-1) or give a .crt path`,
      { cause: err },
    );
  }
  const days = checkDays(options.days);
  const serial = normalizeSerial(cert.serialNumber);
  return withFileLock(join(options.dir, CRL_FILE), async () => {
    const nowMs = options.nowMs ?? Date.now();
    const bundle = await readBundle(options.dir);
    const issuer = bundle.findIndex((ca) => cert.checkIssued(ca.cert) && cert.verify(ca.cert.publicKey));
    const ca = bundle[issuer];
    if (ca === undefined) {
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `${path} was not issued by any CA in ${join(options.dir, 'ca.crt')} (its issuer is ${oneLine(cert.issuer)}); only its CA's CRL can revoke it`,
      );
    }
    if (ca.keyPem === undefined) {
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `${path} was issued by CA ${oneLine(ca.cert.subject)} (certificate #${issuer + 1} of ca.crt), whose private key is not in ${options.dir}; put it there as ca.key or ca-<name>.key to revoke with it. Nothing was written`,
      );
    }
    const existing = entriesOf(ca.old);
    const already = existing.some((e) => e.serial === serial);
    const entries = already ? existing : [...existing, { serial, revokedAt: new Date(nowMs) }];
    // Only the issuing CA's CRL changes; the others are kept (or created where there is none).
    const written = await writeBundleCrls(options.dir, bundle, days, nowMs, (i) =>
      i === issuer ? entries : undefined,
    );
    return { ...written, certificate: path, serial, subject: cert.subjectAltName ?? cert.subject, already };
  });
}

/**
 * Re-signs the CRL of every bundle CA whose key is in `dir` (or writes an empty one) with a fresh
 * thisUpdate and nextUpdate; the CRLs of the others are kept as they are.
 */
export async function renewCrlInDir(options: CrlInDirOptions): Promise<CrlWritten> {
  const days = checkDays(options.days);
  return withFileLock(join(options.dir, CRL_FILE), async () => {
    const bundle = await readBundle(options.dir);
    return writeBundleCrls(options.dir, bundle, days, options.nowMs ?? Date.now(), (i) => {
      const ca = bundle[i];
      return ca?.keyPem === undefined ? undefined : entriesOf(ca.old);
    });
  });
}

function checkDays(days = 365): number {
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw invalid('--days', `${days} is out of range; use a whole number of days 1-${MAX_DAYS}`);
  }
  return days;
}

/**
 * The bundle's CAs, each with its key (if in `dir`) and its CRLs in the current file. A CRL in the
 * file of a CA outside the bundle is refused (readCrls), not silently dropped.
 */
async function readBundle(dir: string): Promise<BundleCa[]> {
  const caFile = join(dir, 'ca.crt');
  const certs = pemBlocks(readRequired(dir, 'ca.crt'), 'CERTIFICATE');
  if (certs.length === 0) {
    throw new PinholeError('FAILED_PRECONDITION', `${caFile} holds no PEM certificate; put the CA there`);
  }
  const cas = certs.map((pem) => ({ pem, cert: new X509Certificate(pem) }));
  const keys = fs
    .readdirSync(dir)
    .filter((f) => CA_KEY_FILE.test(f))
    .flatMap((f) => {
      const pem = fs.readFileSync(join(dir, f), 'utf8');
      try {
        return [{ pem, key: createPrivateKey(pem) }];
      } catch {
        // Not a usable key (encrypted, say): as if absent; the message names what is missing.
        return [];
      }
    });
  const file = join(dir, CRL_FILE);
  const old = fs.existsSync(file)
    ? await readCrls(
        fs.readFileSync(file, 'utf8'),
        file,
        cas.map((c) => c.cert),
      )
    : [];
  return cas.map((c, i) => ({
    ...c,
    keyPem: keys.find((k) => c.cert.checkPrivateKey(k.key))?.pem,
    old: old.filter((crl) => crl.caIndex === i),
  }));
}

/** Every entry of these CRLs, once per serial (a file with two CRLs of one CA loses none). */
function entriesOf(crls: readonly VerifiedCrl[]): CrlEntry[] {
  const bySerial = new Map<string, CrlEntry>();
  for (const crl of crls) for (const e of crl.entries) if (!bySerial.has(e.serial)) bySerial.set(e.serial, e);
  return [...bySerial.values()];
}

/**
 * Writes one CRL per bundle CA: signed anew with `resign(i)` entries when it returns some; else the
 * old CRL kept, or, when there is none, an empty one signed with the CA's key. Fails, writing
 * nothing, when a CA has neither a CRL nor a key.
 */
async function writeBundleCrls(
  dir: string,
  bundle: readonly BundleCa[],
  days: number,
  nowMs: number,
  resign: (index: number) => CrlEntry[] | undefined,
): Promise<CrlWritten> {
  const pems: string[] = [];
  const crls: CrlOfCa[] = [];
  for (const [i, ca] of bundle.entries()) {
    const subject = oneLine(ca.cert.subject);
    let entries = resign(i);
    const [only, ...more] = ca.old;
    if (entries === undefined && only !== undefined && more.length === 0) {
      pems.push(only.pem);
      crls.push({ ca: subject, action: 'kept', revoked: only.entries.length, nextUpdate: only.nextUpdate });
      continue;
    }
    entries ??= entriesOf(ca.old);
    if (ca.keyPem === undefined) {
      const state =
        ca.old.length === 0
          ? `has no CRL in ${CRL_FILE}`
          : `has ${ca.old.length} CRLs in ${CRL_FILE} to merge into one`;
      throw new PinholeError(
        'FAILED_PRECONDITION',
        `CA ${subject} (certificate #${i + 1} of ${join(dir, 'ca.crt')}) ${state}, and its private key is not in ${dir} (as ca.key or ca-<name>.key); the server refuses a CRL file without exactly one CRL per CA of the bundle. Put that key in ${dir}, or remove that CA from ca.crt. Nothing was written`,
      );
    }
    const nextUpdate = new Date(Math.min(nowMs + days * DAY_MS, Date.parse(ca.cert.validTo)));
    pems.push(
      await createCrl({
        ca: { certPem: ca.pem, keyPem: ca.keyPem },
        entries,
        thisUpdate: new Date(nowMs - CLOCK_SKEW_MS),
        nextUpdate,
      }),
    );
    crls.push({ ca: subject, action: 'signed', revoked: entries.length, nextUpdate });
  }
  const file = join(dir, CRL_FILE);
  writeFileAtomic(file, pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''), 0o644);
  const updates = crls.flatMap((c) => (c.nextUpdate === undefined ? [] : [c.nextUpdate.getTime()]));
  return {
    file,
    revoked: crls.reduce((n, c) => n + c.revoked, 0),
    nextUpdate: new Date(updates.length === 0 ? nowMs + days * DAY_MS : Math.min(...updates)),
    crls,
  };
}

const oneLine = (name: string): string => JSON.stringify(name.replaceAll('\n', ', '));
