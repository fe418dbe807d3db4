/**
 * The admin HTTPS console checks the client certificate on every request, not only at the
 * handshake: a keep-alive connection opened before a revocation is refused (401) on its next
 * request, and open event streams (/api/events) end when their certificate is revoked or expires.
 * The same revocation source as the gRPC listener (the reloaded CRL).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initDevPki, issueCertificate, readTrustDomain, type PemPair } from '../../server/identity/pki.js';
import { revokeInDir } from '../../server/identity/revoke.js';
import { writePemFiles } from '../../server/identity/pki.js';
import { removeDir, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';

let dir: string;
let ts: TestServer;

/** Polls `check` until it returns true; gives up after 30 s (a bound on a hang, not a timing claim). */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tlsOf(pair: PemPair): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca: readFileSync(join(dir, 'ca.crt')),
    cert: Buffer.from(pair.certPem),
    key: Buffer.from(pair.keyPem),
  };
}

function fileTls(base: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  return tlsOf({
    certPem: readFileSync(join(dir, `${base}.crt`), 'utf8'),
    keyPem: readFileSync(join(dir, `${base}.key`), 'utf8'),
  });
}

function get(
  path: string,
  options: { agent: Agent | false; tls?: ReturnType<typeof tlsOf> },
): Promise<{ res: IncomingMessage; reused: boolean }> {
  const [host = '', port = ''] = ts.server.adminAddress.split(':');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host, port: Number(port), path, method: 'GET', agent: options.agent, ...(options.tls ?? {}) },
      (res) => {
        resolve({ res, reused: req.reusedSocket });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function text(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** An event stream's text so far, and whether the server ended it. */
function stream(res: IncomingMessage): { text: string; ended: boolean } {
  const s = { text: '', ended: false };
  res.on('data', (c: Buffer) => (s.text += c.toString('utf8')));
  res.on('end', () => (s.ended = true));
  res.on('close', () => (s.ended = true));
  return s;
}

beforeAll(async () => {
  dir = tempDir('pinhole-admin-certs-');
  initDevPki({ dir });
  const ca = {
    certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
  };
  writePemFiles(
    dir,
    'admin-bob',
    issueCertificate({ ca, trustDomain: readTrustDomain(dir), role: 'admin', name: 'bob' }),
    {
      force: false,
    },
  );
  ts = await startTestServer(
    { certs: { dir, autoInit: false, watch: false }, admin: { listen: '127.0.0.1:0' } },
    { certDir: dir },
  );
});
afterAll(async () => {
  await ts.close();
  removeDir(ts.dataDir);
  removeDir(dir);
});

describe('the admin console after a revocation', () => {
  it('refuses the next request on an open connection with 401 and ends the event stream', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ...fileTls('admin-bob') });
    try {
      const before = await get('/api/leases', { agent });
      expect(before.res.statusCode).toBe(200);
      await text(before.res);
      const events = await get('/api/events', { agent: false, tls: fileTls('admin-bob') });
      expect(events.res.statusCode).toBe(200);
      const feed = stream(events.res);
      await until('the hello event', () => feed.text.includes('"hello"'));

      await revokeInDir('admin-bob', { dir });
      expect(await ts.server.reloadTls()).toMatchObject({ ok: true, changed: true, revoked: 1 });

      await until('the event stream to end', () => feed.ended);
      expect(feed.text).toMatch(
        /event: refused\ndata: \{"error":"client certificate admin\/bob \(serial [0-9A-F]+\) has been revoked; ask for a new certificate/,
      );

      const after = await get('/api/leases', { agent });
      // The connection from before the revocation, not a new handshake (which TLS would refuse).
      expect(after.reused).toBe(true);
      expect(after.res.statusCode).toBe(401);
      expect(JSON.parse(await text(after.res))).toMatchObject({
        error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(/admin\/bob .* has been revoked/) },
      });

      // Other admins go on.
      const alice = await get('/api/leases', { agent: false, tls: fileTls('admin-alice') });
      expect(alice.res.statusCode).toBe(200);
      await text(alice.res);
    } finally {
      agent.destroy();
    }
  });
});

describe('the admin console when a certificate expires', () => {
  it('ends the event stream at notAfter and refuses the next request on that connection', async () => {
    const ca = {
      certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
    };
    // Whole seconds: certificate times have one-second resolution.
    const notAfter = new Date(Math.ceil((Date.now() + 3000) / 1000) * 1000);
    const short = issueCertificate({
      ca,
      trustDomain: readTrustDomain(dir),
      role: 'admin',
      name: 'carol',
      notAfter,
    });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ...tlsOf(short) });
    try {
      const events = await get('/api/events', { agent: false, tls: tlsOf(short) });
      const feed = stream(events.res);
      const first = await get('/api/leases', { agent });
      expect(first.res.statusCode).toBe(200);
      await text(first.res);

      // Requests on the same connection until one is refused: each keeps the connection from
      // idling out, so the refusal comes from the per-request check, not a new handshake.
      let status = 200;
      const deadline = Date.now() + 30_000;
      while (status !== 401) {
        if (Date.now() > deadline) throw new Error('gave up waiting for a request to be refused');
        const next = await get('/api/leases', { agent });
        expect(next.reused).toBe(true);
        status = next.res.statusCode ?? 0;
        const body = await text(next.res);
        if (status === 401) expect(body).toContain(`client certificate expired at ${notAfter.toISOString()}`);
        else await new Promise((r) => setTimeout(r, 200));
      }
      expect(Date.now()).toBeGreaterThanOrEqual(notAfter.getTime());
      await until('the event stream to end', () => feed.ended);
      expect(feed.text).toContain(`client certificate expired at ${notAfter.toISOString()}`);
    } finally {
      agent.destroy();
    }
  });
});
