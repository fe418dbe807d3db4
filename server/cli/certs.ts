/**
 * `pinhole certs init | issue | list | revoke | crl`: the development PKI of DESIGN.md §2 from the
 * command line.
 * Failures throw PinholeError; the top-level `main` prints `error: <message>` and exits 1.
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { invalid, PinholeError } from '../core/errors.js';
import { identityFromPem } from '../identity/peer.js';
import { certificateExpiry, initDevPki, issueIntoDir, readTrustDomain } from '../identity/pki.js';
import { CRL_FILE, describeCrls } from '../identity/crl.js';
import { renewCrlInDir, revokeInDir, type CrlWritten } from '../identity/revoke.js';

/** `pinhole certs list` warns this many days ahead, so a certificate is renewed before peers refuse it. */
export const EXPIRY_WARNING_DAYS = 30;

interface InitFlags {
  readonly dir: string;
  readonly trustDomain: string;
  readonly days: string;
  readonly force: boolean;
}

interface IssueFlags {
  readonly dir: string;
  readonly role: string;
  readonly name: string;
  readonly ip?: string[];
  readonly dns?: string[];
  readonly days?: string;
  readonly force: boolean;
}

/** Commander hands us strings; "abc" or "1.5" days should say so rather than become NaN. */
function parseDays(text: string): number {
  if (!/^\d+$/.test(text)) throw invalid('--days', `"${text}" is not a whole number of days`);
  return Number(text);
}

function printWritten(files: readonly string[]): void {
  for (const file of files) console.log(`wrote ${file}`);
}

export function registerCertsCommands(program: Command): void {
  const certs = program.command('certs').description('development PKI: CA and mTLS certificates');

  certs
    .command('init')
    .description('write a CA and certificates for a server, hosts, firewalls and an admin')
    .option('--dir <dir>', 'output directory', 'certs')
    .option('--trust-domain <td>', 'SPIFFE trust domain', 'pinhole.test')
    .option('--days <n>', 'validity in days', '365')
    .option('--force', 'overwrite existing files', false)
    .action((flags: InitFlags) => {
      const files = initDevPki({
        dir: flags.dir,
        trustDomain: flags.trustDomain,
        days: parseDays(flags.days),
        force: flags.force,
      });
      printWritten(files);
      console.log(`trust domain ${flags.trustDomain}; private keys are mode 0600`);
    });

  certs
    .command('issue')
    .description('issue one certificate with the CA in --dir')
    .requiredOption('--role <role>', 'host | firewall | admin | server')
    .requiredOption('--name <name>', 'identity name: 1-128 of A-Z a-z 0-9 . _ -')
    .option('--ip <ip...>', 'IP SANs: the addresses this identity owns')
    .option('--dns <name...>', 'DNS SANs')
    .option('--dir <dir>', 'directory holding ca.crt, ca.key and trust-domain', 'certs')
    .option('--days <n>', 'validity in days (default 365, at most the CA lifetime)')
    .option('--force', 'overwrite existing files', false)
    .action((flags: IssueFlags) => {
      const files = issueIntoDir({
        dir: flags.dir,
        role: flags.role,
        name: flags.name,
        force: flags.force,
        ...(flags.ip ? { ips: flags.ip } : {}),
        ...(flags.dns ? { dns: flags.dns } : {}),
        ...(flags.days !== undefined ? { days: parseDays(flags.days) } : {}),
      });
      printWritten(files);
    });

  certs
    .command('revoke')
    .description(
      `revoke a certificate: add it to ${CRL_FILE} in --dir, signed by its CA (ca.key or ca-<name>.key there)`,
    )
    .argument('<certificate>', 'a file base name in --dir (e.g. host-web-1) or a path to a .crt file')
    .option('--dir <dir>', 'directory holding ca.crt, ca.key and the CRL', 'certs')
    .option('--days <n>', 'days until the CRL must be renewed (default 365, at most the CA lifetime)')
    .action(async (target: string, flags: { dir: string; days?: string }) => {
      const r = await revokeInDir(target, {
        dir: flags.dir,
        ...(flags.days !== undefined ? { days: parseDays(flags.days) } : {}),
      });
      console.log(
        r.already
          ? `${r.certificate} (serial ${r.serial}) was already revoked; CRL re-signed`
          : `revoked ${r.certificate}: ${r.subject} (serial ${r.serial})`,
      );
      printCrl(r);
    });

  certs
    .command('crl')
    .description(
      `write or renew ${CRL_FILE} in --dir: one CRL per CA in ca.crt, re-signed where the CA key is there`,
    )
    .option('--dir <dir>', 'directory holding ca.crt, ca.key and the CRL', 'certs')
    .option('--days <n>', 'days until the CRL must be renewed (default 365, at most the CA lifetime)')
    .action(async (flags: { dir: string; days?: string }) => {
      printCrl(
        await renewCrlInDir({
          dir: flags.dir,
          ...(flags.days !== undefined ? { days: parseDays(flags.days) } : {}),
        }),
      );
    });

  certs
    .command('list')
    .description('show each certificate: identity, addresses, expiry; warn before expiry')
    .option('--dir <dir>', 'certificate directory', 'certs')
    .action((flags: { dir: string }) => {
      const report = listCertificates(flags.dir, Date.now());
      for (const line of report.lines) console.log(line);
      for (const line of report.errors) console.error(`error: ${line}`);
      // Listing the rest is more useful than stopping at one bad file, but the exit code must say so.
      if (report.errors.length > 0) process.exitCode = 1;
    });
}

function printCrl(w: CrlWritten): void {
  console.log(
    `wrote ${w.file}: ${w.revoked} revoked; renew it before ${w.nextUpdate.toISOString()} (pinhole certs crl)`,
  );
  if (w.crls.length > 1 || w.crls.some((c) => c.action === 'kept')) {
    for (const c of w.crls) {
      const next =
        c.nextUpdate === undefined ? 'no next update' : `next update ${c.nextUpdate.toISOString()}`;
      const how = c.action === 'signed' ? 'signed' : 'kept as it was (its CA key is not in --dir)';
      console.log(`  CRL of CA ${c.ca}: ${c.revoked} revoked, ${next}, ${how}`);
    }
  }
  console.log(
    'a running server picks it up when the file changes or on SIGHUP; new handshakes, calls and open streams of a revoked certificate are refused',
  );
}

export interface CertListReport {
  /** One line per certificate, each followed by its WARNING line if any. */
  readonly lines: string[];
  /** Files that could not be read as Pinhole certificates. */
  readonly errors: string[];
}

/** What `pinhole certs list` prints, as data so it can be tested without a process. */
export function listCertificates(dir: string, nowMs: number): CertListReport {
  if (!fs.existsSync(dir)) {
    throw new PinholeError('FAILED_PRECONDITION', `${dir} does not exist; run \`pinhole certs init\` first`);
  }
  const trustDomain = readTrustDomain(dir);
  // The CA first: it is the one whose expiry takes everything else down with it.
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.crt'))
    .sort((a, b) => (a === 'ca.crt' ? -1 : b === 'ca.crt' ? 1 : a.localeCompare(b)));
  const lines: string[] = [];
  const errors: string[] = [];
  for (const file of files) {
    try {
      const pem = fs.readFileSync(join(dir, file), 'utf8');
      const expiry = certificateExpiry(pem, nowMs);
      const until = expiry.notAfter.toISOString();
      let who: string;
      if (file === 'ca.crt') {
        who = `CA ${new X509Certificate(pem).subject.replaceAll('\n', ', ')}`;
      } else {
        const id = identityFromPem(pem, trustDomain);
        const addresses = id.addresses.length > 0 ? id.addresses.join(',') : '-';
        who = `spiffe://${id.trustDomain}/${id.role}/${id.name} ${addresses}`;
      }
      lines.push(`${file}  ${who}  expires ${until} (${expiry.daysLeft} days)`);
      if (expiry.expired) {
        lines.push(`WARNING: ${file} expired on ${until}; peers refuse it. Reissue it with --force.`);
      } else if (expiry.daysLeft < EXPIRY_WARNING_DAYS) {
        lines.push(`WARNING: ${file} expires in ${expiry.daysLeft} days (${until}); reissue it soon.`);
      }
      if (expiry.notBefore.getTime() > nowMs) {
        lines.push(`WARNING: ${file} is not valid until ${expiry.notBefore.toISOString()}; check clocks.`);
      }
    } catch (err) {
      errors.push(`${join(dir, file)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const crlPath = join(dir, CRL_FILE);
  if (fs.existsSync(crlPath)) {
    try {
      lines.push(...crlLines(CRL_FILE, fs.readFileSync(crlPath, 'utf8'), nowMs));
    } catch (err) {
      errors.push(`${crlPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { lines, errors };
}

/** A CRL past its nextUpdate makes TLS refuse every client of its CA: warn as for certificates. */
function crlLines(file: string, text: string, nowMs: number): string[] {
  const lines: string[] = [];
  for (const crl of describeCrls(text)) {
    if (crl.nextUpdate === undefined) {
      lines.push(`${file}  CRL of ${crl.issuer}  ${crl.revoked} revoked  no next update`);
      continue;
    }
    const until = crl.nextUpdate.toISOString();
    const msLeft = crl.nextUpdate.getTime() - nowMs;
    const daysLeft = Math.floor(msLeft / 86_400_000);
    lines.push(
      `${file}  CRL of ${crl.issuer}  ${crl.revoked} revoked  next update ${until} (${daysLeft} days)`,
    );
    if (msLeft <= 0) {
      lines.push(
        `WARNING: ${file} expired on ${until}; servers refuse every client of its CA. Renew it: pinhole certs crl.`,
      );
    } else if (daysLeft < EXPIRY_WARNING_DAYS) {
      lines.push(`WARNING: ${file} must be renewed within ${daysLeft} days (${until}): pinhole certs crl.`);
    }
  }
  return lines;
}
