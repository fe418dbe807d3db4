/**
 * `pinhole certs revoke` and `pinhole certs crl` during a CA rotation (two CAs in ca.crt): the
 * revoked certificate's issuing CA signs its CRL, the other CA's CRL is kept, the file holds one
 * CRL per CA of the bundle (what the server requires), and the server takes it. Concurrent revokes
 * lose nothing (the lock file of server/identity/file-lock.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createCa,
  initDevPki,
  issueCertificate,
  readTrustDomain,
  writePemFiles,
  type PemPair,
} from '../../server/identity/pki.js';
import { pemBlocks } from '../../server/identity/crl.js';
import { loadTlsMaterial } from '../../server/identity/tls-material.js';
import { revokeInDir } from '../../server/identity/revoke.js';
import { revocationKey } from '../../server/identity/peer.js';
import { readClientTls } from '../../client-sdk/wire.js';
import { removeDir, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';
import { pinholeAsync } from '../integration/admin-fixtures.js';

const crlBlocks = (dir: string): string[] =>
  pemBlocks(readFileSync(join(dir, 'crl.pem'), 'utf8'), 'X509 CRL');

function tlsFilesOf(dir: string) {
  return {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    crl: { path: join(dir, 'crl.pem'), optional: false },
  };
}

/** A dev PKI in the middle of a rotation: ca.crt holds the first CA, then a second (key in ca-2.key). */
function rotatingPki(): { dir: string; second: PemPair } {
  const dir = tempDir('pinhole-crl-bundle-');
  initDevPki({ dir });
  const trustDomain = readTrustDomain(dir);
  const second = createCa({ trustDomain, days: 30, commonName: `Pinhole CA ${trustDomain} 2` });
  writePemFiles(dir, 'ca-2', second, { force: false });
  writeFileSync(join(dir, 'ca.crt'), readFileSync(join(dir, 'ca.crt'), 'utf8') + second.certPem);
  const web1 = issueCertificate({
    ca: second,
    trustDomain,
    role: 'host',
    name: 'web-1',
    ips: ['198.18.0.2'],
  });
  writePemFiles(dir, 'host-web-1-ca2', web1, { force: false });
  return { dir, second };
}

describe('pinhole certs revoke with two CAs in ca.crt', () => {
  let dir: string;
  let ts: TestServer;
  beforeAll(async () => {
    ({ dir } = rotatingPki());
    ts = await startTestServer({ certs: { dir, autoInit: false, watch: false } }, { certDir: dir });
  });
  afterAll(async () => {
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it("signs the issuing CA's CRL, keeps the other's, and the server takes the file", async () => {
    // A certificate of the first CA, then one of the second: each CA signs only its own CRL.
    const first = await pinholeAsync('certs', 'revoke', 'host-db-1', '--dir', dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(crlBlocks(dir)).toHaveLength(2);
    const [firstCaCrl] = crlBlocks(dir);

    const second = await pinholeAsync('certs', 'revoke', 'host-web-1-ca2', '--dir', dir);
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/CRL of CA "CN=Pinhole CA .* 2.*": 1 revoked, .*signed/);
    expect(second.code).toBe(0);
    const blocks = crlBlocks(dir);
    expect(blocks).toHaveLength(2);
    // The first CA's CRL is kept byte for byte.
    expect(blocks[0]).toBe(firstCaCrl);

    const material = await loadTlsMaterial(tlsFilesOf(dir));
    expect(material.revoked.size).toBe(2);
    expect(await ts.server.reloadTls()).toMatchObject({ ok: true, changed: true, revoked: 2 });
    const web1 = new X509Certificate(readClientTls(dir, 'host-web-1-ca2').cert);
    expect(ts.server.tls.isRevoked(revocationKey(web1.issuer, web1.serialNumber))).toBe(true);

    // pinhole certs crl re-signs both (both keys are here) and keeps both entries.
    const renewed = await pinholeAsync('certs', 'crl', '--dir', dir);
    expect(renewed.code).toBe(0);
    expect(crlBlocks(dir)).toHaveLength(2);
    expect((await loadTlsMaterial(tlsFilesOf(dir))).revoked.size).toBe(2);
  });
});

describe('pinhole certs revoke without a CA key', () => {
  let dir: string;
  beforeAll(() => {
    ({ dir } = rotatingPki());
  });
  afterAll(() => {
    removeDir(dir);
  });

  it('names the issuing CA whose key is missing, and writes nothing', async () => {
    renameSync(join(dir, 'ca-2.key'), join(dir, 'elsewhere.key'));
    const r = await pinholeAsync('certs', 'revoke', 'host-web-1-ca2', '--dir', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /host-web-1-ca2\.crt was issued by CA "CN=Pinhole CA .* 2.*" \(certificate #2 of ca\.crt\), whose private key is not in .*; put it there as ca\.key or ca-<name>\.key/,
    );
    expect(() => readFileSync(join(dir, 'crl.pem'))).toThrow();

    // Revoking a first-CA certificate needs a CRL for the second CA too: without its key, say so.
    const other = await pinholeAsync('certs', 'revoke', 'host-db-1', '--dir', dir);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /CA "CN=Pinhole CA .* 2.*" \(certificate #2 of .*ca\.crt\) has no CRL in crl\.pem, and its private key is not in .*; the server refuses a CRL file without exactly one CRL per CA of the bundle/,
    );
    expect(() => readFileSync(join(dir, 'crl.pem'))).toThrow();

    // With the second CA's CRL already in the file, its key is not needed to revoke for the first.
    renameSync(join(dir, 'elsewhere.key'), join(dir, 'ca-2.key'));
    expect((await pinholeAsync('certs', 'crl', '--dir', dir)).code).toBe(0);
    renameSync(join(dir, 'ca-2.key'), join(dir, 'elsewhere.key'));
    const kept = await pinholeAsync('certs', 'revoke', 'host-db-1', '--dir', dir);
    expect(kept.stderr).toBe('');
    expect(kept.stdout).toMatch(/CRL of CA "CN=Pinhole CA .* 2.*": 0 revoked, .*kept as it was/);
    expect((await loadTlsMaterial(tlsFilesOf(dir))).revoked.size).toBe(1);
  });
});

describe('concurrent revokes', () => {
  let dir: string;
  beforeAll(() => {
    ({ dir } = rotatingPki());
  });
  afterAll(() => {
    removeDir(dir);
  });

  it('lose no revocation', async () => {
    const names = [
      'host-web-1',
      'host-db-1',
      'host-db-2',
      'firewall-gw-1',
      'firewall-web-1',
      'host-web-1-ca2',
    ];
    await Promise.all(names.map((n) => revokeInDir(n, { dir })));
    const material = await loadTlsMaterial(tlsFilesOf(dir));
    expect(material.revoked.size).toBe(names.length);
    // The lock is gone once they are done.
    expect(existsSync(join(dir, 'crl.pem.lock'))).toBe(false);
  });
});
