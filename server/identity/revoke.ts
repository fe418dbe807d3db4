/**
 * Revocation in the development PKI: `pinhole certs revoke` adds a certificate to `crl.pem` in the
 * certificate directory, signed by the CA there; `pinhole certs crl` re-signs it with a fresh
 * nextUpdate. The server reloads the file on change and on SIGHUP (server/identity/tls-runtime.ts).
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { invalid, PinholeError } from '../core/errors.js';
import { createCrl, CRL_FILE, readCrls, type CrlEntry } from './crl.js';
import { normalizeSerial } from './peer.js';
import { readRequired, writeFileAtomic } from './pki.js';

const DAY_MS = 86_400_000;
/** As for certificates (pki.ts): a peer whose clock is slightly behind still accepts the CRL. */
const CLOCK_SKEW_MS = 5 * 60_000;
const MAX_DAYS = 36_500;

export interface CrlInDirOptions {
  readonly dir: string;
  /** Days until nextUpdate; default 365, clamped to the CA's expiry. Servers refuse every client of the CA after it. */
  readonly days?: number;
  readonly nowMs?: number;
}

export interface CrlWritten {
  readonly file: string;
  readonly revoked: number;
  readonly nextUpdate: Date;
}

export interface Revoked extends CrlWritten {
  readonly certificate: string;
  readonly serial: string;
  readonly subject: string;
  /** The certificate was already on the list (the CRL is re-signed all the same). */
  readonly already: boolean;
}

/**
 * Revokes `target`: a base name in `dir` (`host-web-1`), or a path to a `.crt` file. The certificate
 * must have been issued by the CA in `dir`, since only that CA's CRL can revoke it.
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
  const ca = new X509Certificate(readRequired(options.dir, 'ca.crt'));
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    throw new PinholeError(
      'FAILED_PRECONDITION',
      `${path} was not issued by the CA in ${join(options.dir, 'ca.crt')}; only that CA's CRL can revoke it`,
    );
  }
  const serial = normalizeSerial(cert.serialNumber);
  const nowMs = options.nowMs ?? Date.now();
  const existing = await currentEntries(options.dir, ca);
  const already = existing.some((e) => e.serial === serial);
  const entries = already ? existing : [...existing, { serial, revokedAt: new Date(nowMs) }];
  const written = await writeCrl(options, entries, nowMs);
  return { ...written, certificate: path, serial, subject: cert.subjectAltName ?? cert.subject, already };
}

/** Re-signs `crl.pem` (or writes an empty one) with a fresh thisUpdate and nextUpdate. */
export async function renewCrlInDir(options: CrlInDirOptions): Promise<CrlWritten> {
  const ca = new X509Certificate(readRequired(options.dir, 'ca.crt'));
  return writeCrl(options, await currentEntries(options.dir, ca), options.nowMs ?? Date.now());
}

/** The entries of the CRL in `dir`, which must be this CA's: a CRL of another CA is not silently dropped. */
async function currentEntries(dir: string, ca: X509Certificate): Promise<CrlEntry[]> {
  const file = join(dir, CRL_FILE);
  if (!fs.existsSync(file)) return [];
  const crls = await readCrls(fs.readFileSync(file, 'utf8'), file, [ca]);
  return crls.flatMap((c) => c.entries);
}

async function writeCrl(
  options: CrlInDirOptions,
  entries: readonly CrlEntry[],
  nowMs: number,
): Promise<CrlWritten> {
  const days = options.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw invalid('--days', `${days} is out of range; use a whole number of days 1-${MAX_DAYS}`);
  }
  const caPem = readRequired(options.dir, 'ca.crt');
  const keyPem = readRequired(options.dir, 'ca.key');
  const caNotAfter = Date.parse(new X509Certificate(caPem).validTo);
  const nextUpdate = new Date(Math.min(nowMs + days * DAY_MS, caNotAfter));
  const pem = await createCrl({
    ca: { certPem: caPem, keyPem },
    entries,
    thisUpdate: new Date(nowMs - CLOCK_SKEW_MS),
    nextUpdate,
  });
  const file = join(options.dir, CRL_FILE);
  writeFileAtomic(file, pem, 0o644);
  return { file, revoked: entries.length, nextUpdate };
}
