/**
 * Issue 11: `pinhole doctor` names each problem of a broken setup (an expired certificate, a key
 * that belongs to another certificate, a missing nft binary, a clock that is off) with its fix and
 * exits 1; a sound setup passes. The clock check asks a running server's admin listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { issueCertificate, readTrustDomain, writePemFiles } from '../../server/identity/pki.js';
import { parseConfig } from '../../server/config/load.js';
import { runDoctor } from '../../server/ops/doctor/run.js';
import { checkClock } from '../../server/ops/doctor/clock.js';
import { removeDir, sharedPki, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';
import { pinholeAsync } from './admin-fixtures.js';

let ts: TestServer;
let brokenCerts: string;
let dataDir: string;

beforeAll(async () => {
  ts = await startTestServer();
  dataDir = tempDir();
  brokenCerts = tempDir('pinhole-doctor-certs-');
  cpSync(sharedPki(), brokenCerts, { recursive: true });
  const ca = {
    certPem: readFileSync(join(brokenCerts, 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(brokenCerts, 'ca.key'), 'utf8'),
  };
  const expired = issueCertificate({
    ca,
    trustDomain: readTrustDomain(brokenCerts),
    role: 'host',
    name: 'web-9',
    ips: ['198.18.0.9'],
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2020-01-02T00:00:00Z'),
  });
  writePemFiles(brokenCerts, 'host-web-9', expired, { force: true });
  // A key that belongs to another certificate.
  copyFileSync(join(brokenCerts, 'host-db-1.key'), join(brokenCerts, 'host-db-2.key'));
});

afterAll(async () => {
  await ts.close();
  for (const dir of [ts.dataDir, dataDir, brokenCerts]) removeDir(dir);
});

describe('pinhole doctor', () => {
  it('names each problem of a broken setup with its fix and exits 1', async () => {
    const r = await pinholeAsync(
      'doctor',
      '--certs',
      brokenCerts,
      '--data-dir',
      dataDir,
      '--nft',
      '/nonexistent/sbin/nft',
      '--server-admin',
      ts.server.adminAddress,
    );
    const out = r.stdout;
    expect(r.code, `${out}\n${r.stderr}`).toBe(1);
    expect(out).toMatch(/FAIL\s+certs\s+host-web-9\.crt: expired 2020-01-02T00:00:00\.000Z/);
    expect(out).toMatch(/fix: `pinhole certs issue --dir \S+ --role host --name web-9 --force`/);
    expect(out).toMatch(/FAIL\s+certs\s+host-db-2\.key: does not match host-db-2\.crt/);
    expect(out).toMatch(/FAIL\s+nft\s+\/nonexistent\/sbin\/nft: not found or not executable/);
    expect(out).toMatch(/fix: install nftables \(apt-get install nftables\), or pass --nft/);
    expect(out).toMatch(/skip\s+nft\s+kernel: not tested: needs the nft binary/);
    // What is sound is reported as such.
    expect(out).toMatch(/ok\s+certs\s+host-web-1\.crt: host\/web-1/);
    expect(out).toMatch(/ok\s+store\s+/);
    expect(out).toMatch(/ok\s+clock\s+server 127\.0\.0\.1:\d+: in step/);
    expect(out).toMatch(/3 problem\(s\) to fix/);
  });

  it('finds nft missing from PATH', async () => {
    const config = parseConfig({ dataDir, certs: { dir: sharedPki(), autoInit: false } });
    const findings = await runDoctor({
      config,
      skip: ['certs', 'store', 'policy', 'clock'],
      env: { PATH: '/nonexistent-bin' },
    });
    const nft = findings.filter((f) => f.check === 'nft');
    expect(nft[0]).toMatchObject({
      status: 'fail',
      subject: 'nft',
      message: 'not found in PATH (/nonexistent-bin)',
    });
    expect(nft[0]?.fix).toContain('apt-get install nftables');
  });

  it('names an unreachable PostgreSQL store without printing its password', async () => {
    const config = parseConfig({
      dataDir,
      store: { kind: 'postgres', url: 'postgres://pinhole:s3cret@127.0.0.1:1/pinhole' },
    });
    const store = (await runDoctor({ config, skip: ['certs', 'policy', 'nft', 'clock'] })).find(
      (f) => f.check === 'store',
    );
    expect(store).toMatchObject({
      check: 'store',
      status: 'fail',
      subject: 'postgres://pinhole:***@127.0.0.1:1/pinhole',
    });
    expect(store?.message).toMatch(/^cannot connect: .*ECONNREFUSED/);
    expect(JSON.stringify(store)).not.toContain('s3cret');
  });

  it('reports a clock that is off against the server', async () => {
    const behind = await checkClock({
      address: ts.server.adminAddress,
      certDir: ts.certDir,
      identity: 'host-web-1',
      now: () => Date.now() - 60_000,
    });
    expect(behind[0]?.status).toBe('fail');
    // Date has one-second resolution: a 60 s offset shows as a lower bound in (59 s - rtt, 60 s].
    expect(behind[0]?.message).toMatch(
      /the server's clock is at least (5\d|60)\.\d s ahead of this machine's/,
    );
    expect(behind[0]?.fix).toContain('NTP');
  });

  it('passes a sound setup (exit 0)', async () => {
    const r = await pinholeAsync(
      'doctor',
      '--certs',
      ts.certDir,
      '--data-dir',
      ts.dataDir,
      '--server-admin',
      ts.server.adminAddress,
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/ok\s+store\s+\S+pinhole\.db: schema v\d+, revision \d+/);
    expect(r.stdout).not.toMatch(/FAIL/);
  });
});
