/**
 * Issue 10, certificate life cycle: the server's certificate and the CA bundle are replaced while
 * running without dropping live lease streams; a CRL written by `pinhole certs revoke` and loaded on
 * SIGHUP refuses new handshakes, the next call on an open connection, and the open streams of the
 * revoked certificates; a stream ends when its client certificate expires; bad new material is
 * refused and the old keeps serving. Real servers, real files, the real CLI.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  createCa,
  initDevPki,
  issueCertificate,
  readTrustDomain,
  writePemFiles,
  type PemPair,
} from '../../server/identity/pki.js';
import {
  openingClient,
  readClientTls,
  watchClient,
  type ClientTls,
  type LeaseWatchClient,
  type OpeningClient,
} from '../../client-sdk/wire.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import {
  callError,
  removeDir,
  spawnServer,
  startTestServer,
  tempDir,
  unaryCall,
  type ServerProcess,
  type TestServer,
} from '../helpers/pinhole.js';
import { pinholeAsync } from '../integration/admin-fixtures.js';
import { healthClient } from '../integration/ops-fixtures.js';
import { createCrl } from '../../server/identity/crl.js';
import { dbBackup, open, webHttps } from './fixtures.js';

/** A fresh dev PKI of its own: these tests replace files in it. */
function freshPki(): string {
  const dir = tempDir('pinhole-lifecycle-pki-');
  initDevPki({ dir });
  return dir;
}

function caOf(dir: string): PemPair {
  return {
    certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
  };
}

const fingerprint = (pem: string | Buffer): string => new X509Certificate(pem).fingerprint256;

type Probe =
  { readonly ok: true; readonly fingerprint: string } | { readonly ok: false; readonly error: string };

/**
 * One new TLS connection, nothing else. TLS 1.2, so the server has judged the client certificate
 * before the handshake completes (in 1.3 the verdict arrives after the client's Finished).
 */
function probe(address: string, tls: ClientTls): Promise<Probe> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      ALPNProtocols: ['h2'],
      maxVersion: 'TLSv1.2',
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      socket.destroy();
      resolve({ ok: true, fingerprint: peer.fingerprint256 });
    });
    socket.once('error', (err) => {
      socket.destroy();
      resolve({ ok: false, error: err.message });
    });
  });
}

/** Polls `check` until it returns true; gives up after 30 s (a bound on a hang, not a timing claim). */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A server stream's messages and, once it ends, its status. */
interface Recorded<T> {
  readonly messages: T[];
  end?: ServiceError;
}

function record<T>(stream: ClientReadableStream<T>): Recorded<T> {
  const r: Recorded<T> = { messages: [] };
  stream.on('data', (m: T) => r.messages.push(m));
  stream.on('error', (e: ServiceError) => {
    r.end = e;
  });
  return r;
}

const watchAll = (client: LeaseWatchClient): Recorded<WatchEvent__Output> =>
  record(client.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } }));

const sawLease = (r: Recorded<WatchEvent__Output>, leaseId: string): boolean =>
  r.messages.some((e) => e.type === 'UPSERT' && e.leaseId === leaseId);

async function grant(client: OpeningClient, requestId: string): Promise<string> {
  const answer = await open(client, webHttps(requestId));
  const id = answer.lease?.id;
  if (id === undefined) throw new Error(`no lease for ${requestId}: ${JSON.stringify(answer.decision)}`);
  return id;
}

/** A TLS client from a certificate pair, trusting the CA in `dir` for the server. */
function clientTls(dir: string, pair: PemPair): ClientTls {
  return {
    ca: readFileSync(join(dir, 'ca.crt')),
    cert: Buffer.from(pair.certPem),
    key: Buffer.from(pair.keyPem),
  };
}

async function metric(ts: TestServer, line: RegExp): Promise<number> {
  const { body } = await ts.server.ops.metrics.scrape();
  const m = line.exec(body);
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

describe('rotating the server certificate without a restart', () => {
  let dir: string;
  let ts: TestServer;
  const clients: { close(): void }[] = [];
  beforeAll(async () => {
    dir = freshPki();
    ts = await startTestServer({}, { certDir: dir });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it('keeps an open Watch stream receiving events while new connections see the new certificate', async () => {
    const firewall = watchClient(ts.address, readClientTls(dir, 'firewall-gw-1'));
    const host = openingClient(ts.address, readClientTls(dir, 'host-web-1'));
    clients.push(firewall, host);
    const stream = watchAll(firewall);
    const before = await grant(host, 'rotate-before');
    await until('the stream to see the first lease', () => sawLease(stream, before));

    const oldPrint = fingerprint(readFileSync(join(dir, 'server.crt')));
    const seen = await probe(ts.address, readClientTls(dir, 'host-web-1'));
    expect(seen).toEqual({ ok: true, fingerprint: oldPrint });

    // A new key pair, written as an operator's tooling would: key, then certificate, each by rename.
    const renewed = issueCertificate({
      ca: caOf(dir),
      trustDomain: readTrustDomain(dir),
      role: 'server',
      name: 'pinhole-server',
      ips: ['127.0.0.1', '::1'],
      dnsNames: ['localhost'],
    });
    writePemFiles(dir, 'server', renewed, { force: true });
    const newPrint = fingerprint(renewed.certPem);
    expect(newPrint).not.toBe(oldPrint);
    // The file watcher reloads; a new connection is the observer.
    let probes = 0;
    await until('a new connection to present the new certificate', async () => {
      probes++;
      const p = await probe(ts.address, readClientTls(dir, 'host-web-1'));
      return p.ok && p.fingerprint === newPrint;
    });
    console.log(
      `server certificate rotated after ${probes} probe(s); old ${oldPrint.slice(0, 11)} new ${newPrint.slice(0, 11)}`,
    );

    // The stream opened on the old certificate is still there and still delivering.
    const after = await grant(host, 'rotate-after');
    await until('the same stream to see a lease granted after the rotation', () => sawLease(stream, after));
    expect(stream.end).toBeUndefined();
    expect(ts.server.tls.current.serverFingerprint).toBe(newPrint.replaceAll(':', '').toLowerCase());
    expect(await metric(ts, /^pinhole_tls_reloads_total\{result="ok"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
  });
});

describe('rotating the CA bundle without a restart', () => {
  let dir: string;
  let ts: TestServer;
  beforeAll(async () => {
    dir = freshPki();
    ts = await startTestServer({ certs: { dir, autoInit: false, watch: false } }, { certDir: dir });
  });
  afterAll(async () => {
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it('accepts clients of a second CA after the bundle holding it is reloaded, not before', async () => {
    const trustDomain = readTrustDomain(dir);
    const newCa = createCa({ trustDomain, days: 30, commonName: `Pinhole CA ${trustDomain} 2` });
    const pair = issueCertificate({
      ca: newCa,
      trustDomain,
      role: 'host',
      name: 'web-1',
      ips: ['198.18.0.2'],
    });
    const tls = clientTls(dir, pair);

    const refused = await probe(ts.address, tls);
    expect(refused.ok).toBe(false);
    const early = openingClient(ts.address, tls, { 'grpc.use_local_subchannel_pool': 1 });
    expect((await callError(open(early, webHttps('ca2-early')))).code).toBe(status.UNAVAILABLE);
    early.close();

    const oldBundle = readFileSync(join(dir, 'ca.crt'), 'utf8');
    writeFileSync(join(dir, 'ca.crt'), oldBundle + newCa.certPem);
    const outcome = await ts.server.reloadTls();
    expect(outcome).toMatchObject({ ok: true, changed: true });

    expect((await probe(ts.address, tls)).ok).toBe(true);
    const late = openingClient(ts.address, tls, { 'grpc.use_local_subchannel_pool': 1 });
    expect((await open(late, webHttps('ca2-late'))).decision?.outcome).toBe('GRANTED');
    late.close();
    // Clients of the first CA are still accepted.
    expect((await probe(ts.address, readClientTls(dir, 'host-web-1'))).ok).toBe(true);
  });
});

describe('removing a CA from the bundle', () => {
  let dir: string;
  let ts: TestServer;
  const clients: { close(): void }[] = [];
  beforeAll(async () => {
    dir = freshPki();
    ts = await startTestServer({ certs: { dir, autoInit: false, watch: false } }, { certDir: dir });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it("ends the open streams and refuses the next call of that CA's clients; other clients go on", async () => {
    const trustDomain = readTrustDomain(dir);
    const oldBundle = readFileSync(join(dir, 'ca.crt'), 'utf8');
    const secondCa = createCa({ trustDomain, days: 30, commonName: `Pinhole CA ${trustDomain} removed` });
    writeFileSync(join(dir, 'ca.crt'), oldBundle + secondCa.certPem);
    expect(await ts.server.reloadTls()).toMatchObject({ ok: true, changed: true });

    // A firewall and a host of the second CA connect while it is trusted.
    const fwTls = clientTls(
      dir,
      issueCertificate({ ca: secondCa, trustDomain, role: 'firewall', name: 'gw-1' }),
    );
    const hostTls = clientTls(
      dir,
      issueCertificate({ ca: secondCa, trustDomain, role: 'host', name: 'web-1', ips: ['198.18.0.2'] }),
    );
    const firewall = watchClient(ts.address, fwTls, { 'grpc.use_local_subchannel_pool': 1 });
    const host = openingClient(ts.address, hostTls, { 'grpc.use_local_subchannel_pool': 1 });
    const kept = watchClient(ts.address, readClientTls(dir, 'firewall-web-1'));
    clients.push(firewall, host, kept);
    const stream = watchAll(firewall);
    const keptStream = record(kept.Watch({ fromRevision: '0', scope: { hosts: ['web-1'], groups: [] } }));
    const first = await grant(host, 'ca-removed-first');
    await until(
      'both streams to see the lease',
      () => sawLease(stream, first) && sawLease(keptStream, first),
    );

    // The CA is taken out (compromised, or the end of a rotation).
    writeFileSync(join(dir, 'ca.crt'), oldBundle);
    expect(await ts.server.reloadTls()).toMatchObject({ ok: true, changed: true });

    const refusal =
      /was issued by CA "CN=Pinhole CA .* removed, O=Pinhole", which the server no longer trusts/;
    await until('the stream of the removed CA to end', () => stream.end !== undefined);
    expect(stream.end?.code).toBe(status.UNAUTHENTICATED);
    expect(stream.end?.details).toMatch(refusal);
    // The connection opened under the old bundle takes no more calls.
    const next = await callError(unaryCall(host, host.ListMine, {}));
    expect([next.code, next.details]).toEqual([status.UNAUTHENTICATED, expect.stringMatching(refusal)]);
    // Clients of the CA still in the bundle go on.
    const web1 = openingClient(ts.address, readClientTls(dir, 'host-web-1'));
    clients.push(web1);
    const second = await grant(web1, 'ca-removed-second');
    await until('the other stream to see the new lease', () => sawLease(keptStream, second));
    expect(keptStream.end).toBeUndefined();
  });
});

describe('a CRL in use that disappears', () => {
  let dir: string;
  let ts: TestServer;
  beforeAll(async () => {
    dir = freshPki();
    ts = await startTestServer({ certs: { dir, autoInit: false, watch: false } }, { certDir: dir });
  });
  afterAll(async () => {
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it('is refused: the revoked certificates stay revoked until the CRL is back or the server restarts', async () => {
    const r = await pinholeAsync('certs', 'revoke', 'host-db-1', '--dir', dir);
    expect(r.code).toBe(0);
    expect(await ts.server.reloadTls()).toMatchObject({ ok: true, changed: true, revoked: 1 });
    const crl = readFileSync(join(dir, 'crl.pem'));

    removeDir(join(dir, 'crl.pem'));
    const outcome = await ts.server.reloadTls();
    expect(outcome).toEqual({
      ok: false,
      error: `${join(dir, 'crl.pem')}: the CRL in use is gone, and reloading without it would un-revoke 1 certificate(s); put the CRL back (pinhole certs crl writes one), or restart the server to run without revocation`,
    });
    expect(ts.server.tls.current.revoked.size).toBe(1);
    expect((await probe(ts.address, readClientTls(dir, 'host-db-1'))).ok).toBe(false);

    writeFileSync(join(dir, 'crl.pem'), crl);
    expect(await ts.server.reloadTls()).toMatchObject({ ok: true, changed: false, revoked: 1 });
  });
});

describe('revocation: pinhole certs revoke, then SIGHUP', () => {
  let dir: string;
  let dataDir: string;
  let server: ServerProcess;
  const clients: { close(): void }[] = [];
  beforeAll(async () => {
    dir = freshPki();
    dataDir = tempDir();
    // No file watcher: SIGHUP is the trigger under test.
    server = await spawnServer({ dataDir, certDir: dir, config: { certs: { watch: false } } });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server.kill('SIGTERM');
    removeDir(dataDir);
    removeDir(dir);
  });

  it('refuses new handshakes, the next call on an open connection and the open streams of revoked certificates', async () => {
    const address = server.address;
    // Connections and streams opened before the revocation.
    const db1 = openingClient(address, readClientTls(dir, 'host-db-1'));
    const gw1 = watchClient(address, readClientTls(dir, 'firewall-gw-1'));
    const fwWeb1 = watchClient(address, readClientTls(dir, 'firewall-web-1'));
    const web1 = openingClient(address, readClientTls(dir, 'host-web-1'));
    clients.push(db1, gw1, fwWeb1, web1);
    const pending = await open(db1, dbBackup('revoke-pending'));
    expect(pending.decision?.outcome).toBe('PENDING');
    const wait = record(db1.WaitDecision({ pendingId: pending.pendingId }));
    // grpc.health.v1 Watch streams are guarded like Pinhole's own.
    const health = healthClient(address, dir, 'host-db-1');
    clients.push(health);
    const healthStream = record(
      (
        health as unknown as { watch(req: { service: string }): ClientReadableStream<{ status: string }> }
      ).watch({
        service: '',
      }),
    );
    const gwStream = watchAll(gw1);
    const keptStream = record(fwWeb1.Watch({ fromRevision: '0', scope: { hosts: ['web-1'], groups: [] } }));
    const first = await grant(web1, 'revoke-first');
    await until(
      'streams to be live',
      () =>
        wait.messages.length > 0 &&
        healthStream.messages.length > 0 &&
        sawLease(gwStream, first) &&
        sawLease(keptStream, first),
    );
    expect((await probe(address, readClientTls(dir, 'host-db-1'))).ok).toBe(true);

    // The operator revokes two certificates with the CLI and signals the server.
    for (const name of ['host-db-1', 'firewall-gw-1']) {
      const r = await pinholeAsync('certs', 'revoke', name, '--dir', dir);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`revoked .*${name}\\.crt: URI:spiffe://`));
      expect(r.code).toBe(0);
    }
    const list = await pinholeAsync('certs', 'list', '--dir', dir);
    expect(list.stdout).toMatch(/^crl\.pem {2}CRL of .* {2}2 revoked {2}next update /m);
    server.child.kill('SIGHUP');

    // 1. New handshakes with a revoked certificate fail in TLS (the CRL in the secure context).
    let refused = 0;
    await until('TLS to refuse host-db-1', async () => {
      const p = await probe(address, readClientTls(dir, 'host-db-1'));
      if (!p.ok) refused++;
      return !p.ok;
    });
    expect((await probe(address, readClientTls(dir, 'firewall-gw-1'))).ok).toBe(false);
    refused++;
    const fresh = openingClient(address, readClientTls(dir, 'host-db-1'), {
      'grpc.use_local_subchannel_pool': 1,
    });
    clients.push(fresh);
    expect((await callError(unaryCall(fresh, fresh.ListMine, {}))).code).toBe(status.UNAVAILABLE);
    refused++;

    // 2. Their open streams were ended with UNAUTHENTICATED and a reason.
    await until(
      'the revoked streams to end',
      () => wait.end !== undefined && gwStream.end !== undefined && healthStream.end !== undefined,
    );
    expect(healthStream.end?.code).toBe(status.UNAUTHENTICATED);
    expect(healthStream.end?.details).toMatch(/host\/db-1 .* has been revoked/);
    expect(wait.end?.code).toBe(status.UNAUTHENTICATED);
    expect(wait.end?.details).toMatch(
      /client certificate host\/db-1 \(serial [0-9A-F]+\) has been revoked; ask for a new certificate/,
    );
    expect(gwStream.end?.code).toBe(status.UNAUTHENTICATED);
    expect(gwStream.end?.details).toMatch(/firewall\/gw-1 .* has been revoked/);

    // 3. The next call on a connection opened before the revocation is refused.
    const next = await callError(unaryCall(db1, db1.ListMine, {}));
    expect(next.code).toBe(status.UNAUTHENTICATED);
    expect(next.details).toMatch(/has been revoked/);

    // Everyone else goes on: web-1 connects anew, the other firewall's stream still delivers.
    expect((await probe(address, readClientTls(dir, 'host-web-1'))).ok).toBe(true);
    const second = await grant(web1, 'revoke-second');
    await until('the unrevoked stream to see a new lease', () => sawLease(keptStream, second));
    expect(keptStream.end).toBeUndefined();
    console.log(
      `revocation: refused ${refused} handshakes, closed 3 streams, refused 1 call on an open connection`,
    );
  });
});

describe('a stream whose client certificate expires', () => {
  let dir: string;
  let ts: TestServer;
  const clients: { close(): void }[] = [];
  beforeAll(async () => {
    dir = freshPki();
    ts = await startTestServer({}, { certDir: dir });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  it('is ended with UNAUTHENTICATED at notAfter, and the connection takes no more calls', async () => {
    const ca = caOf(dir);
    const trustDomain = readTrustDomain(dir);
    // Whole seconds: certificate times have one-second resolution.
    const notAfter = new Date(Math.ceil((Date.now() + 4000) / 1000) * 1000);
    const shortFirewall = issueCertificate({ ca, trustDomain, role: 'firewall', name: 'gw-1', notAfter });
    const shortHost = issueCertificate({
      ca,
      trustDomain,
      role: 'host',
      name: 'db-1',
      ips: ['198.18.1.10'],
      notAfter,
    });
    const firewall = watchClient(ts.address, clientTls(dir, shortFirewall));
    const host = openingClient(ts.address, clientTls(dir, shortHost));
    const web1 = openingClient(ts.address, readClientTls(dir, 'host-web-1'));
    clients.push(firewall, host, web1);

    const stream = watchAll(firewall);
    const pending = await open(host, dbBackup('expiry-pending'));
    const wait = record(host.WaitDecision({ pendingId: pending.pendingId }));
    const lease = await grant(web1, 'expiry-lease');
    await until('both streams to be live', () => sawLease(stream, lease) && wait.messages.length > 0);

    await until('both streams to end', () => stream.end !== undefined && wait.end !== undefined);
    expect(Date.now()).toBeGreaterThanOrEqual(notAfter.getTime());
    const expected = `client certificate expired at ${notAfter.toISOString()}; renew it and reconnect`;
    expect([stream.end?.code, stream.end?.details]).toEqual([status.UNAUTHENTICATED, expected]);
    expect([wait.end?.code, wait.end?.details]).toEqual([status.UNAUTHENTICATED, expected]);

    // Same connection, established while the certificate was valid: the next call is refused too.
    const next = await callError(unaryCall(host, host.ListMine, {}));
    expect([next.code, next.details]).toEqual([status.UNAUTHENTICATED, expected]);
  });
});

describe('bad new material', () => {
  let dir: string;
  let ts: TestServer;
  const saved = new Map<string, Buffer>();
  let expiredCrl = '';
  let crlOfFirstCa = '';
  let secondCa: PemPair | undefined;
  beforeAll(async () => {
    dir = freshPki();
    ts = await startTestServer({ certs: { dir, autoInit: false, watch: false } }, { certDir: dir });
    for (const f of ['ca.crt', 'server.crt', 'server.key']) saved.set(f, readFileSync(join(dir, f)));
    const now = Date.now();
    expiredCrl = await createCrl({
      ca: caOf(dir),
      entries: [],
      thisUpdate: new Date(now - 2 * 86_400_000),
      nextUpdate: new Date(now - 86_400_000),
    });
    secondCa = createCa({ trustDomain: readTrustDomain(dir), days: 30, commonName: 'Pinhole CA 2' });
    crlOfFirstCa = await createCrl({
      ca: caOf(dir),
      entries: [],
      thisUpdate: new Date(now - 60_000),
      nextUpdate: new Date(now + 86_400_000),
    });
  });
  afterEach(() => {
    for (const [f, data] of saved) writeFileSync(join(dir, f), data);
  });
  afterAll(async () => {
    await ts.close();
    removeDir(ts.dataDir);
    removeDir(dir);
  });

  /** A matching pair, but from a CA the bundle does not hold. */
  let strangerPair: PemPair | undefined;
  const stranger = (): PemPair =>
    (strangerPair ??= issueCertificate({
      ca: createCa({ trustDomain: 'pinhole.test', days: 30, commonName: 'Stranger CA' }),
      trustDomain: 'pinhole.test',
      role: 'server',
      name: 'pinhole-server',
      ips: ['127.0.0.1'],
    }));
  /** web-1's files, trusting the CA saved before the test broke ca.crt. */
  const web1 = (): ClientTls => ({
    ...readClientTls(dir, 'host-web-1'),
    ca: saved.get('ca.crt') ?? Buffer.alloc(0),
  });
  const otherKey = (): string =>
    generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();

  /** [case, files to write (name → contents), the refusal] */
  const cases: [string, Record<string, () => string>, RegExp][] = [
    [
      'a key that does not match the certificate',
      { 'server.key': otherKey },
      /server\.key: does not match the certificate in .*server\.crt/,
    ],
    [
      'a server certificate from a CA outside the bundle',
      { 'server.crt': () => stranger().certPem, 'server.key': () => stranger().keyPem },
      /server\.crt: .* does not chain to a CA in .*ca\.crt \(its issuer is "CN=Stranger CA/,
    ],
    [
      'a CA bundle that is not PEM',
      { 'ca.crt': () => 'not a certificate\n' },
      /ca\.crt: holds no PEM certificate/,
    ],
    [
      'a CRL past its nextUpdate',
      { 'crl.pem': () => expiredCrl },
      /crl\.pem: the CRL of "CN=Pinhole CA pinhole\.test, O=Pinhole" expired at .* \(nextUpdate\); TLS would refuse every client of that CA/,
    ],
    [
      'a CRL file without the CRL of one CA of the bundle',
      {
        'ca.crt': () => `${saved.get('ca.crt')?.toString() ?? ''}${secondCa?.certPem ?? ''}`,
        'crl.pem': () => crlOfFirstCa,
      },
      /crl\.pem: has no CRL of CA "CN=Pinhole CA 2, O=Pinhole" \(certificate #2 of the bundle\); TLS would refuse every client of that CA/,
    ],
    [
      'a CRL file that is not PEM',
      { 'crl.pem': () => 'garbage\n' },
      /crl\.pem: holds no "-----BEGIN X509 CRL-----" block/,
    ],
  ];
  it.each(cases)('%s is refused and the old certificates keep serving', async (_label, files, message) => {
    const printBefore = fingerprint(saved.get('server.crt') ?? '');
    const invalidBefore = await metric(ts, /^pinhole_tls_reloads_total\{result="invalid"\} (\d+)$/m);
    for (const [f, make] of Object.entries(files)) writeFileSync(join(dir, f), make());
    try {
      const outcome = await ts.server.reloadTls();
      expect(outcome.ok).toBe(false);
      if (!outcome.ok) expect(outcome.error).toMatch(message);
      expect(await metric(ts, /^pinhole_tls_reloads_total\{result="invalid"\} (\d+)$/m)).toBe(
        invalidBefore + 1,
      );
      // New connections still get the old, good context.
      expect(await probe(ts.address, web1())).toEqual({
        ok: true,
        fingerprint: printBefore,
      });
      const client = openingClient(ts.address, web1(), { 'grpc.use_local_subchannel_pool': 1 });
      expect((await open(client, webHttps(`bad-material-${Math.random()}`))).decision?.outcome).toBe(
        'GRANTED',
      );
      client.close();
    } finally {
      removeDir(join(dir, 'crl.pem'));
    }
  });
});

describe('pinhole certs list', () => {
  let dir: string;
  beforeAll(() => {
    dir = freshPki();
  });
  afterAll(() => {
    removeDir(dir);
  });

  it('warns before a certificate or the CRL expires', async () => {
    const issued = await pinholeAsync(
      'certs',
      'issue',
      '--role',
      'host',
      '--name',
      'soon',
      '--days',
      '10',
      '--dir',
      dir,
    );
    expect(issued.code).toBe(0);
    const crl = await pinholeAsync('certs', 'crl', '--days', '5', '--dir', dir);
    expect(crl.stdout).toMatch(/wrote .*crl\.pem: 0 revoked; renew it before /);
    expect(crl.code).toBe(0);
    const list = await pinholeAsync('certs', 'list', '--dir', dir);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^WARNING: host-soon\.crt expires in 9 days \(.*\); reissue it soon\.$/m);
    expect(list.stdout).toMatch(
      /^WARNING: crl\.pem must be renewed within 4 days \(.*\): pinhole certs crl\.$/m,
    );
    // Certificates far from expiry get no warning.
    expect(list.stdout).not.toMatch(/WARNING: host-web-1\.crt/);
  });
});
