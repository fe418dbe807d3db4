import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listCertificates, registerCertsCommands } from '../../server/cli/certs.js';
import { PinholeError } from '../../server/core/errors.js';
import type { Identity } from '../../server/core/types.js';
import { identityFromCertificate, identityFromPem } from '../../server/identity/peer.js';
import {
  certificateExpiry,
  createCa,
  initDevPki,
  issueCertificate,
  issueIntoDir,
  type PemPair,
} from '../../server/identity/pki.js';

const TD = 'pinhole.test';
const DAY_MS = 86_400_000;
const DEV_FILES = [
  'ca',
  'server',
  'host-web-1',
  'host-db-1',
  'host-db-2',
  'firewall-gw-1',
  'firewall-web-1',
  'admin-alice',
].flatMap((b) => [`${b}.crt`, `${b}.key`]);

const tmpRoots: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'pinhole-pki-'));
  tmpRoots.push(dir);
  return dir;
}

function mode(path: string): number {
  return fs.statSync(path).mode & 0o777;
}

function read(dir: string, file: string): string {
  return fs.readFileSync(join(dir, file), 'utf8');
}

function pair(dir: string, base: string): PemPair {
  return { certPem: read(dir, `${base}.crt`), keyPem: read(dir, `${base}.key`) };
}

function thrown(fn: () => unknown): PinholeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PinholeError) return err;
    throw err;
  }
  throw new Error('expected a PinholeError');
}

let dir: string; // a dev PKI written once by initDevPki; tests that change it use their own dir
let otherCa: PemPair;

beforeAll(() => {
  dir = join(tmpDir(), 'certs');
  initDevPki({ dir });
  otherCa = createCa({ trustDomain: TD, days: 30 });
});

afterAll(() => {
  for (const root of tmpRoots) fs.rmSync(root, { recursive: true, force: true });
});

describe('initDevPki', () => {
  it('writes the CA, server, hosts, firewalls, admin and trust-domain file', () => {
    expect(fs.readdirSync(dir).sort()).toEqual([...DEV_FILES, 'trust-domain'].sort());
    expect(read(dir, 'trust-domain').trim()).toBe(TD);
    const ids = DEV_FILES.filter((f) => f.endsWith('.crt') && f !== 'ca.crt').map((f) => {
      const id = identityFromPem(read(dir, f), TD);
      return `${id.role}/${id.name} ${id.addresses.join(',')}`;
    });
    expect(ids).toEqual([
      'server/pinhole-server 127.0.0.1,::1',
      'host/web-1 198.18.0.2',
      'host/db-1 198.18.1.10',
      'host/db-2 198.18.1.11',
      'firewall/gw-1 ',
      'firewall/web-1 ',
      'admin/alice ',
    ]);
  });

  it('writes private keys mode 0600, certificates 0644 and a new directory 0700', () => {
    for (const f of DEV_FILES)
      expect([f, mode(join(dir, f))]).toEqual([f, f.endsWith('.key') ? 0o600 : 0o644]);
    expect(mode(dir)).toBe(0o700);
  });

  it('signs every certificate with the CA it wrote (checked without openssl)', () => {
    const ca = new X509Certificate(read(dir, 'ca.crt'));
    expect(ca.ca).toBe(true);
    for (const f of DEV_FILES.filter((f) => f.endsWith('.crt') && f !== 'ca.crt')) {
      const leaf = new X509Certificate(read(dir, f));
      expect([f, leaf.verify(ca.publicKey), leaf.checkIssued(ca), leaf.ca]).toEqual([f, true, true, false]);
      expect(leaf.verify(new X509Certificate(otherCa.certPem).publicKey)).toBe(false);
    }
  });

  it('refuses to overwrite without --force, naming the file, and changes nothing', () => {
    const before = read(dir, 'ca.crt');
    const err = thrown(() => initDevPki({ dir }));
    expect(err.code).toBe('ALREADY_EXISTS');
    expect(err.message).toContain(join(dir, 'ca.crt'));
    expect(err.message).toContain('use --force');
    expect(read(dir, 'ca.crt')).toBe(before);
  });

  it('checks every target before writing any: one existing key blocks the whole init', () => {
    const fresh = join(tmpDir(), 'certs');
    fs.mkdirSync(fresh);
    fs.writeFileSync(join(fresh, 'host-db-2.key'), 'keep me');
    const err = thrown(() => initDevPki({ dir: fresh }));
    expect(err.message).toContain(join(fresh, 'host-db-2.key'));
    expect(fs.readdirSync(fresh)).toEqual(['host-db-2.key']);
  });

  it('overwrites with force, keeping key files 0600 even if they were loosened', () => {
    const other = join(tmpDir(), 'certs');
    initDevPki({ dir: other, trustDomain: 'lab.example', days: 10 });
    const oldCa = read(other, 'ca.crt');
    fs.chmodSync(join(other, 'host-web-1.key'), 0o644);
    const written = initDevPki({ dir: other, trustDomain: 'lab.example', force: true });
    expect(written).toContain(join(other, 'host-web-1.key'));
    expect(read(other, 'ca.crt')).not.toBe(oldCa);
    expect(mode(join(other, 'host-web-1.key'))).toBe(0o600);
    expect(identityFromPem(read(other, 'host-web-1.crt'), 'lab.example').name).toBe('web-1');
  });

  it('rejects bad input with INVALID_ARGUMENT naming the field', () => {
    const bad = thrown(() => initDevPki({ dir: join(tmpDir(), 'x'), trustDomain: 'Bad_Domain' }));
    expect([bad.code, bad.field]).toEqual(['INVALID_ARGUMENT', 'trustDomain']);
    expect(thrown(() => initDevPki({ dir: join(tmpDir(), 'x'), days: 0 })).message).toMatch(
      /^days: 0 is out/,
    );
  });
});

describe('issueIntoDir and issueCertificate', () => {
  it('adds a host whose URI and IP SANs read back through peer.ts', () => {
    const files = issueIntoDir({ dir, role: 'host', name: 'app-1', ips: ['198.18.2.1', '2001:DB8::10'] });
    expect(files).toEqual([join(dir, 'host-app-1.crt'), join(dir, 'host-app-1.key')]);
    expect(mode(join(dir, 'host-app-1.key'))).toBe(0o600);
    const cert = new X509Certificate(read(dir, 'host-app-1.crt'));
    expect(cert.subjectAltName).toBe(
      `URI:spiffe://${TD}/host/app-1, IP Address:198.18.2.1, IP Address:2001:DB8:0:0:0:0:0:10`,
    );
    const id = identityFromCertificate(cert.raw, TD);
    expect([id.role, id.name, id.addresses]).toEqual(['host', 'app-1', ['198.18.2.1', '2001:db8::10']]);
    expect(cert.verify(new X509Certificate(read(dir, 'ca.crt')).publicKey)).toBe(true);
    const again = thrown(() => issueIntoDir({ dir, role: 'host', name: 'app-1' }));
    expect([again.code, again.message]).toEqual([
      'ALREADY_EXISTS',
      `${join(dir, 'host-app-1.crt')} already exists (and 1 more); use --force to overwrite`,
    ]);
  });

  it('validates role, name and addresses before touching the CA', () => {
    const cases: [Parameters<typeof issueIntoDir>[0], string][] = [
      [
        { dir, role: 'robot', name: 'r' },
        'role: "robot" is not a role; use one of host, firewall, admin, server',
      ],
      [{ dir, role: 'host', name: 'a/b' }, 'name: "a/b" is not a valid name'],
      [{ dir, role: 'host', name: 'x', ips: ['300.1.1.1'] }, 'ips[0]: "300.1.1.1" is not an IP address'],
      [{ dir, role: 'host', name: 'x', ips: ['10.0.0.1', '127.1'] }, 'ips[1]: "127.1" is not an IP address'],
      [{ dir, role: 'host', name: 'x', dns: ['bad name'] }, 'dnsNames[0]: "bad name" is not a DNS name'],
    ];
    for (const [options, message] of cases) {
      const err = thrown(() => issueIntoDir(options));
      expect([err.code, err.message.slice(0, message.length)]).toEqual(['INVALID_ARGUMENT', message]);
    }
  });

  it('says to run init when the directory has no CA', () => {
    const err = thrown(() => issueIntoDir({ dir: join(tmpDir(), 'none'), role: 'host', name: 'x' }));
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.message).toMatch(/trust-domain could not be read; run `pinhole certs init` first/);
  });

  it('refuses a CA key that does not belong to the CA certificate', () => {
    const ca = { certPem: read(dir, 'ca.crt'), keyPem: otherCa.keyPem };
    const err = thrown(() => issueCertificate({ ca, trustDomain: TD, role: 'host', name: 'x' }));
    expect(err.message).toBe('CA key does not match the CA certificate');
  });
});

describe('certificateExpiry and certs list', () => {
  it('reports days left and warns within 30 days and after expiry', () => {
    const pem = read(dir, 'host-web-1.crt');
    const { notAfter, daysLeft, expired } = certificateExpiry(pem);
    expect([daysLeft, expired]).toEqual([364, false]);
    const soon = listCertificates(dir, notAfter.getTime() - 10 * DAY_MS - 1000);
    expect(soon.errors).toEqual([]);
    expect(soon.lines[0]).toMatch(/^ca\.crt {2}CA /);
    expect(soon.lines).toContain(
      `WARNING: host-web-1.crt expires in 10 days (${notAfter.toISOString()}); reissue it soon.`,
    );
    const late = listCertificates(dir, notAfter.getTime() + 1000);
    expect(late.lines.filter((l) => l.includes('expired on')).length).toBeGreaterThanOrEqual(
      DEV_FILES.length / 2,
    );
    expect(listCertificates(dir, Date.now()).lines.some((l) => l.startsWith('WARNING'))).toBe(false);
  });
});

describe('pinhole certs commands', () => {
  it('issue writes the files it names, with every --ip, and list shows the new identity', async () => {
    const target = join(tmpDir(), 'certs');
    fs.cpSync(dir, target, { recursive: true });
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => out.push(line));
    try {
      const program = new Command().exitOverride();
      registerCertsCommands(program);
      const issue = ['certs', 'issue', '--role', 'firewall', '--name', 'gw-2', '--ip', '198.18.9.1', '::1'];
      await program.parseAsync([...issue, '--dir', target], { from: 'user' });
      await program.parseAsync(['certs', 'list', '--dir', target], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    expect(out.slice(0, 2)).toEqual([
      `wrote ${join(target, 'firewall-gw-2.crt')}`,
      `wrote ${join(target, 'firewall-gw-2.key')}`,
    ]);
    expect(
      out.some((l) =>
        l.startsWith(`firewall-gw-2.crt  spiffe://${TD}/firewall/gw-2 198.18.9.1,::1  expires`),
      ),
    ).toBe(true);
  });

  it('rejects --days that is not a whole number', async () => {
    const program = new Command().exitOverride();
    registerCertsCommands(program);
    const args = ['certs', 'issue', '--role', 'host', '--name', 'x', '--days', '1.5', '--dir', dir];
    await expect(program.parseAsync(args, { from: 'user' })).rejects.toThrow(
      '--days: "1.5" is not a whole number of days',
    );
  });
});

interface HandshakeResult {
  readonly identity?: Identity;
  readonly error?: Error;
  /** The verify error the server saw (e.g. CERT_HAS_EXPIRED): node:tls destroys the socket quietly. */
  readonly authorizationError?: string;
}

/** One mTLS handshake against a node:tls server that trusts only the dev CA, as the server will. */
async function handshake(client: PemPair): Promise<HandshakeResult> {
  const server = tls.createServer({
    cert: read(dir, 'server.crt'),
    key: read(dir, 'server.key'),
    ca: read(dir, 'ca.crt'),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const result = new Promise<HandshakeResult>((resolve) => {
    server.on('secureConnection', (socket) => {
      resolve({ identity: identityFromCertificate(socket.getPeerCertificate().raw, TD) });
      socket.destroy();
    });
    server.on('tlsClientError', (error, tlsSocket) => {
      resolve({ error, authorizationError: String(tlsSocket.authorizationError) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: read(dir, 'ca.crt'),
    cert: client.certPem,
    key: client.keyPem,
  });
  socket.on('error', () => undefined); // the server's alert; the server side is what we assert
  try {
    return await result;
  } finally {
    socket.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}

describe('mTLS with the dev PKI', () => {
  it('accepts a host certificate from the CA and yields its identity', async () => {
    const { identity, error } = await handshake(pair(dir, 'host-web-1'));
    expect(error).toBeUndefined();
    expect(identity).toMatchObject({ role: 'host', name: 'web-1', addresses: ['198.18.0.2'] });
  });

  it('refuses a certificate from another CA', async () => {
    const stranger = issueCertificate({ ca: otherCa, trustDomain: TD, role: 'host', name: 'web-1' });
    const { identity, authorizationError } = await handshake(stranger);
    expect(identity).toBeUndefined();
    expect(authorizationError).toMatch(/^UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/);
  });

  it('refuses an expired and a not-yet-valid certificate from the right CA', async () => {
    const ca = pair(dir, 'ca');
    const now = Date.now();
    const expired = issueCertificate({
      ca,
      trustDomain: TD,
      role: 'host',
      name: 'old',
      notBefore: new Date(now - 10 * DAY_MS),
      notAfter: new Date(now - DAY_MS),
    });
    const early = issueCertificate({
      ca,
      trustDomain: TD,
      role: 'host',
      name: 'new',
      notBefore: new Date(now + DAY_MS),
      notAfter: new Date(now + 10 * DAY_MS),
    });
    const [a, b] = [await handshake(expired), await handshake(early)];
    expect([a.identity, b.identity]).toEqual([undefined, undefined]);
    expect([a.authorizationError, b.authorizationError]).toEqual(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
  });
});
