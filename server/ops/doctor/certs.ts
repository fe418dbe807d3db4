/**
 * Certificates: the CA, and each leaf in the directory (or the ones named), checked for what makes
 * a handshake fail later: chain to the CA, validity period, the SPIFFE identity and its role (the
 * file name says which role it should be), and that the key file belongs to the certificate.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { identityFromPem, isRole } from '../../identity/peer.js';
import { readTrustDomain } from '../../identity/pki.js';
import { errorText, finding, type Finding } from './types.js';

export interface CertCheckOptions {
  readonly dir: string;
  /** Base names (`server`, `host-web-1`); default every *.crt in dir but ca.crt. */
  readonly identities?: readonly string[];
  readonly trustDomain?: string;
  /** Warn this many days before expiry. Default 30. */
  readonly warnDays?: number;
  readonly now?: () => number;
}

const DAY_MS = 86_400_000;

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The role and name a file base name promises: `server`, or `<role>-<name>`. */
function expectedIdentity(base: string): { role: string; name?: string } | undefined {
  if (base === 'server') return { role: 'server' };
  const dash = base.indexOf('-');
  if (dash < 0) return undefined;
  const role = base.slice(0, dash);
  return isRole(role) ? { role, name: base.slice(dash + 1) } : undefined;
}

function validity(
  cert: X509Certificate,
  subject: string,
  nowMs: number,
  warnDays: number,
  reissue: string,
): Finding | undefined {
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (nowMs < notBefore)
    return finding(
      'certs',
      'fail',
      subject,
      `not valid before ${new Date(notBefore).toISOString()}`,
      `check this machine's clock; else ${reissue}`,
    );
  if (nowMs >= notAfter)
    return finding('certs', 'fail', subject, `expired ${new Date(notAfter).toISOString()}`, reissue);
  const daysLeft = Math.floor((notAfter - nowMs) / DAY_MS);
  if (daysLeft < warnDays)
    return finding('certs', 'warn', subject, `expires in ${daysLeft} day(s), ${day(notAfter)}`, reissue);
  return undefined;
}

function checkLeaf(
  dir: string,
  base: string,
  ca: X509Certificate,
  trustDomain: string | undefined,
  nowMs: number,
  warnDays: number,
): Finding[] {
  const subject = `${base}.crt`;
  const expected = expectedIdentity(base);
  const reissue =
    expected?.name === undefined
      ? `issue a new one: \`pinhole certs issue --dir ${dir} --role ${expected?.role ?? 'ROLE'} --name NAME --force\``
      : `\`pinhole certs issue --dir ${dir} --role ${expected.role} --name ${expected.name} --force\``;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(join(dir, subject)));
  } catch (e) {
    return [
      finding('certs', 'fail', subject, `cannot be read as a PEM certificate: ${errorText(e)}`, reissue),
    ];
  }
  const out: Finding[] = [];
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
    out.push(
      finding(
        'certs',
        'fail',
        subject,
        `not signed by ${join(dir, 'ca.crt')}`,
        `${reissue} (with this CA), or install the CA that issued it`,
      ),
    );
  }
  const period = validity(cert, subject, nowMs, warnDays, reissue);
  if (period !== undefined) out.push(period);
  let who = '';
  if (trustDomain !== undefined) {
    try {
      const identity = identityFromPem(cert.toString(), trustDomain);
      who = `${identity.role}/${identity.name}`;
      if (
        expected !== undefined &&
        (identity.role !== expected.role || (expected.name !== undefined && identity.name !== expected.name))
      ) {
        out.push(
          finding(
            'certs',
            'fail',
            subject,
            `names ${who}, but the file name says ${expected.role}${expected.name === undefined ? '' : `/${expected.name}`}`,
            `rename the file or ${reissue}`,
          ),
        );
      }
    } catch (e) {
      out.push(finding('certs', 'fail', subject, `no usable Pinhole identity: ${errorText(e)}`, reissue));
    }
  }
  const keyPath = join(dir, `${base}.key`);
  if (!existsSync(keyPath)) {
    out.push(
      finding(
        'certs',
        'fail',
        `${base}.key`,
        'missing: the certificate cannot be used without its key',
        reissue,
      ),
    );
  } else {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyPath)))) {
        out.push(
          finding(
            'certs',
            'fail',
            `${base}.key`,
            `does not match ${subject} (a key from another issue?)`,
            `${reissue}, or restore the key issued with it`,
          ),
        );
      }
      if ((statSync(keyPath).mode & 0o077) !== 0) {
        out.push(
          finding(
            'certs',
            'warn',
            `${base}.key`,
            `readable by group or others (mode ${(statSync(keyPath).mode & 0o777).toString(8)})`,
            `chmod 600 ${keyPath}`,
          ),
        );
      }
    } catch (e) {
      out.push(
        finding('certs', 'fail', `${base}.key`, `cannot be read as a private key: ${errorText(e)}`, reissue),
      );
    }
  }
  if (out.every((f) => f.status !== 'fail')) {
    out.unshift(
      finding(
        'certs',
        'ok',
        subject,
        `${who === '' ? 'valid' : who}, signed by the CA, key matches, valid until ${day(Date.parse(cert.validTo))}`,
      ),
    );
  }
  return out;
}

export function checkCertificates(o: CertCheckOptions): Finding[] {
  const nowMs = (o.now ?? Date.now)();
  const warnDays = o.warnDays ?? 30;
  const caPath = join(o.dir, 'ca.crt');
  if (!existsSync(caPath)) {
    return [
      finding(
        'certs',
        'fail',
        caPath,
        'missing',
        `run \`pinhole certs init --dir ${o.dir}\`, or point certs.dir (--certs) at your PKI`,
      ),
    ];
  }
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(readFileSync(caPath));
  } catch (e) {
    return [
      finding(
        'certs',
        'fail',
        caPath,
        `cannot be read as a PEM certificate: ${errorText(e)}`,
        'restore ca.crt from your PKI',
      ),
    ];
  }
  const out: Finding[] = [];
  const caReissue = `create a new CA and reissue every certificate (\`pinhole certs init --dir ${o.dir} --force\` for a dev PKI)`;
  if (!ca.ca)
    out.push(
      finding(
        'certs',
        'fail',
        'ca.crt',
        'is not a CA certificate (basicConstraints CA:false)',
        'install the CA certificate, not a leaf, as ca.crt',
      ),
    );
  const period = validity(ca, 'ca.crt', nowMs, warnDays, caReissue);
  if (period !== undefined) out.push(period);
  else
    out.push(
      finding(
        'certs',
        'ok',
        'ca.crt',
        `CA ${JSON.stringify(ca.subject.replaceAll('\n', ', '))}, valid until ${day(Date.parse(ca.validTo))}`,
      ),
    );
  let trustDomain = o.trustDomain;
  if (trustDomain === undefined) {
    try {
      trustDomain = readTrustDomain(o.dir);
    } catch (e) {
      out.push(
        finding(
          'certs',
          'warn',
          'trust-domain',
          `${errorText(e)}; identities not checked`,
          'write the trust domain into certs/trust-domain or set certs.trustDomain',
        ),
      );
    }
  }
  let bases = o.identities;
  if (bases === undefined) {
    bases = readdirSync(o.dir)
      .filter((f) => f.endsWith('.crt') && f !== 'ca.crt')
      .map((f) => f.slice(0, -'.crt'.length))
      .sort();
  }
  if (bases.length === 0)
    out.push(
      finding(
        'certs',
        'fail',
        o.dir,
        'no certificates besides ca.crt',
        `issue one: pinhole certs issue --dir ${o.dir} --role server --name pinhole-server`,
      ),
    );
  for (const base of bases) {
    if (!existsSync(join(o.dir, `${base}.crt`))) {
      out.push(finding('certs', 'fail', `${base}.crt`, 'missing', `pinhole certs issue --dir ${o.dir} ...`));
      continue;
    }
    out.push(...checkLeaf(o.dir, base, ca, trustDomain, nowMs, warnDays));
  }
  return out;
}
