/**
 * Revoking a certificate withdraws what it asked for: the live leases it opened end at once (their
 * firewalls see DELETE, reason REVOKED) and its waiting requests are denied, while leases the same
 * host opened with its other certificate stay. A CRL that changed while the server was down is
 * applied before the first request. Real server, real mTLS, real CRL files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  initDevPki,
  issueCertificate,
  readTrustDomain,
  writePemFiles,
  type PemPair,
} from '../../server/identity/pki.js';
import { revokeInDir } from '../../server/identity/revoke.js';
import { openingClient, readClientTls, watchClient } from '../../client-sdk/wire.js';
import { classifyRenewRefusal } from '../../client-sdk/errors.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import {
  callError,
  removeDir,
  startTestServer,
  tempDir,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';
import { dbBackup, open, webHttps } from './fixtures.js';

const caOf = (dir: string): PemPair => ({
  certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
  keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
});

/** Polls `check` until it returns true; gives up after 30 s (a bound on a hang, not a timing claim). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function record(stream: ClientReadableStream<WatchEvent__Output>): WatchEvent__Output[] {
  const events: WatchEvent__Output[] = [];
  stream.on('data', (e: WatchEvent__Output) => events.push(e));
  stream.on('error', () => undefined);
  return events;
}

const REVOKED_DETAIL = /^the certificate that asked for it \(serial [0-9A-F]+\) has been revoked$/;

describe('revoking the certificate that asked for a lease', () => {
  let dir: string;
  let dataDir: string;
  let ts: TestServer | undefined;
  const clients: { close(): void }[] = [];
  const start = async (): Promise<TestServer> =>
    (ts = await startTestServer(
      { certs: { dir, autoInit: false, watch: false } },
      { certDir: dir, dataDir },
    ));

  beforeAll(async () => {
    dir = tempDir('pinhole-revoke-leases-pki-');
    dataDir = tempDir();
    initDevPki({ dir });
    // web-1 holds a second, rotated certificate: same identity, another serial.
    const rotated = issueCertificate({
      ca: caOf(dir),
      role: 'host',
      name: 'web-1',
      trustDomain: readTrustDomain(dir),
      ips: ['198.18.0.2'],
    });
    writePemFiles(dir, 'host-web-1-rotated', rotated, { force: false });
    await start();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await ts?.close();
    removeDir(dataDir);
    removeDir(dir);
  });

  it("ends its leases and denies its waiting requests; the host's other certificate keeps its own", async () => {
    const server = ts!;
    const oldCert = openingClient(server.address, readClientTls(dir, 'host-web-1'));
    const newCert = openingClient(server.address, readClientTls(dir, 'host-web-1-rotated'));
    const db1 = openingClient(server.address, readClientTls(dir, 'host-db-1'));
    const gw = watchClient(server.address, readClientTls(dir, 'firewall-gw-1'));
    clients.push(oldCert, newCert, db1, gw);
    const events = record(gw.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } }));

    const leaseOf = async (c: typeof oldCert, requestId: string): Promise<string> => {
      const answer = await open(c, webHttps(requestId));
      if (answer.lease == null) throw new Error(`no lease for ${requestId}`);
      return answer.lease.id;
    };
    const byOld = [await leaseOf(oldCert, 'old-a'), await leaseOf(oldCert, 'old-b')];
    const byNew = await leaseOf(newCert, 'new-c');
    const pending = await open(db1, dbBackup('db-pending'));
    expect(pending.decision?.outcome).toBe('PENDING');
    const stored = await server.server.store.getLease(byNew);
    expect(stored?.openedBy?.serial).toMatch(/^[0-9A-F]+$/);
    expect(stored?.openedBy?.issuer).toContain('Pinhole');

    await revokeInDir('host-web-1', { dir });
    await revokeInDir('host-db-1', { dir });
    expect(await server.server.reloadTls()).toMatchObject({ ok: true, changed: true });

    await until('the old certificate’s leases to end', async () => {
      const leases = await Promise.all(byOld.map((id) => server.server.store.getLease(id)));
      return leases.every((l) => l?.state === 'ended');
    });
    for (const id of byOld) {
      const lease = await server.server.store.getLease(id);
      expect(lease).toMatchObject({ state: 'ended', endReason: 'revoked' });
      expect(lease?.endDetail).toMatch(REVOKED_DETAIL);
    }
    expect((await server.server.store.getLease(byNew))?.state).not.toBe('ended');
    await until('the firewall to see both withdrawn', () =>
      byOld.every((id) =>
        events.some((e) => e.type === 'DELETE' && e.leaseId === id && e.reason === 'REVOKED'),
      ),
    );
    expect(events.some((e) => e.type === 'DELETE' && e.leaseId === byNew)).toBe(false);

    const p = await server.server.store.getPending(pending.pendingId);
    expect(p?.state).toBe('denied');
    expect(p?.answer?.decision.reason).toMatch(
      /^denied by the server: the certificate that asked for it \(serial [0-9A-F]+\) has been revoked$/,
    );

    // The rotated certificate renews its own lease, and cannot revive the revoked ones.
    const renewed = await unaryCall(newCert, newCert.Renew, { leaseId: byNew, requestedTtlSeconds: 300 });
    expect(renewed.lease?.id).toBe(byNew);
    const refused: ServiceError = await callError(
      unaryCall(newCert, newCert.Renew, { leaseId: byOld[0] ?? '', requestedTtlSeconds: 300 }),
    );
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(classifyRenewRefusal(refused.details)).toMatchObject({ kind: 'revoked', by: 'admin' });

    // The request log says who ended them and why.
    const records = await server.server.store.auditRecords({});
    const swept = records.filter((r) => r.action === 'certificate-revoke');
    expect(swept.map((r) => r.leaseId).sort()).toEqual([...byOld, ''].sort());
    expect(swept.every((r) => r.actor === 'server')).toBe(true);
  });

  it('applies a CRL that changed while the server was down before serving', async () => {
    const before = ts!;
    const c = openingClient(before.address, readClientTls(dir, 'host-web-1-rotated'));
    const id = (await open(c, webHttps('before-restart'))).lease?.id ?? '';
    c.close();
    await before.close();
    ts = undefined;

    await revokeInDir('host-web-1-rotated', { dir });
    const after = await start();
    // startServer resolves only after the pass: no request can find it live.
    const lease = await after.server.store.getLease(id);
    expect(lease).toMatchObject({ state: 'ended', endReason: 'revoked' });
    expect(lease?.endDetail).toMatch(REVOKED_DETAIL);
  });
});
