/**
 * The admin HTTPS API behind the web console: mTLS with admin certificates only, JSON in and
 * out with one error mapping, CSRF refusals, bounded bodies, the JSON-lines export, the receipt
 * key set, and the Server-Sent Events change feed with its rate bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { ERROR_CODES } from '../../server/core/errors.js';
import { HTTP_STATUS_OF } from '../../server/admin/http-errors.js';
import { hostClient, readFileSync, removeDir, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { startAdminTestServer } from './admin-fixtures.js';

let ts: TestServer;
let web: OpeningClient;
let origin: string;

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  json(): { error?: { code: string; message: string } } & Record<string, unknown>;
}

interface Options {
  readonly method?: string;
  readonly identity?: string | null;
  readonly body?: string | object;
  readonly headers?: Record<string, string>;
}

function tls(identity: string | null): { ca: Buffer; cert?: Buffer; key?: Buffer } {
  const ca = readFileSync(join(ts.certDir, 'ca.crt'));
  if (identity === null) return { ca };
  return {
    ca,
    cert: readFileSync(join(ts.certDir, `${identity}.crt`)),
    key: readFileSync(join(ts.certDir, `${identity}.key`)),
  };
}

function open(path: string, o: Options = {}): Promise<IncomingMessage> {
  const [host = '', port = ''] = ts.server.adminAddress.split(':');
  const body =
    o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const headers: Record<string, string> = {
    ...(o.body !== undefined && typeof o.body === 'object' ? { 'content-type': 'application/json' } : {}),
    ...o.headers,
  };
  return new Promise((resolve, reject) => {
    // agent: false: every request its own connection, so the certificate is the one asked for.
    const req = httpsRequest(
      {
        host,
        port: Number(port),
        path,
        method: o.method ?? 'GET',
        headers,
        agent: false,
        ...tls(o.identity === undefined ? 'admin-alice' : o.identity),
      },
      resolve,
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function call(path: string, o: Options = {}): Promise<Reply> {
  const res = await open(path, o);
  const chunks: Buffer[] = [];
  for await (const chunk of res as AsyncIterable<Buffer>) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as ReturnType<Reply['json']>,
  };
}

const openLease = (requestId: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    requestedTtlSeconds: 300,
  });
const openBackup = (requestId: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ app: 'backup-agent', sources: [{ cidr: '198.18.9.0/24' }] }],
    requestedTtlSeconds: 600,
  });

beforeAll(async () => {
  ts = await startAdminTestServer();
  web = hostClient(ts.address, ts.certDir, 'web-1');
  origin = `https://${ts.server.adminAddress}`;
});

afterAll(async () => {
  web.close();
  await ts.close();
  removeDir(ts.dataDir);
});

describe('who may use the admin listener', () => {
  it('serves the console to admins with a strict CSP and no inline script', async () => {
    const page = await call('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['x-frame-options']).toBe('DENY');
    for (const tag of page.text.match(/<script[^>]*>[\s\S]*?<\/script>/g) ?? [])
      expect(tag).toMatch(/^<script[^>]*src="[^"]+"[^>]*><\/script>$/);
    expect(page.text).not.toMatch(/\sstyle=|\son[a-z]+=/);
    const script = await call('/console.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/text\/javascript/);
  });

  it('refuses host and firewall certificates with 403 JSON, and no certificate at the handshake', async () => {
    for (const identity of ['host-web-1', 'firewall-gw-1']) {
      for (const path of ['/api/leases', '/', '/api/events']) {
        const r = await call(path, { identity });
        expect(r.status, `${identity} ${path}`).toBe(403);
        expect(r.json().error?.code).toBe('PERMISSION_DENIED');
        expect(r.json().error?.message).toMatch(/admin certificate/);
      }
      const post = await call('/api/revoke', {
        identity,
        method: 'POST',
        body: { leaseId: 'lse_x', reason: 'x' },
      });
      expect(post.status).toBe(403);
    }
    await expect(call('/api/leases', { identity: null })).rejects.toThrow(
      /certificate|socket hang up|ECONNRESET/i,
    );
  });

  it('publishes the receipt key set to any Pinhole identity', async () => {
    const r = await call('/.well-known/jwks.json', { identity: 'firewall-gw-1' });
    expect(r.status).toBe(200);
    expect(r.json()).toEqual(JSON.parse(JSON.stringify(ts.server.receipts.jwks)));
    expect(JSON.stringify(r.json())).not.toMatch(/"d":/); // public keys only
  });
});

describe('JSON API', () => {
  it('lists leases with usage and per-enforcer state, enforcers and the policy text', async () => {
    const granted = (await openLease('http-list-1')).lease!;
    const leases = (await call('/api/leases')).json() as {
      serverTimeMs: number;
      leases: {
        lease: { id: string };
        neverUsed: boolean;
        packets: number;
        enforcers: { name: string; state: string }[];
      }[];
    };
    const row = leases.leases.find((l) => l.lease.id === granted.id);
    expect(row?.neverUsed).toBe(true);
    expect(row?.packets).toBe(0);
    expect(row?.enforcers).toEqual([{ name: 'gw-1', state: 'unknown' }]);
    expect(Math.abs(leases.serverTimeMs - Date.now())).toBeLessThan(5000);
    const enforcers = (await call('/api/enforcers')).json() as {
      enforcers: { name: string; compliant: boolean }[];
    };
    expect(enforcers.enforcers).toEqual([expect.objectContaining({ name: 'gw-1', compliant: false })]);
    const policy = (await call('/api/policy')).json() as { file: string; text: string };
    expect(policy.text).toContain('nightly-backup');
  });

  it('approves, denies and revokes; CSRF-shaped and malformed requests are refused', async () => {
    const first = await openBackup('http-approve-1');
    const body = { pendingId: first.pendingId, ttlSeconds: 60, comment: 'from the console' };
    expect(
      (
        await call('/api/approve', {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415);
    const foreign = await call('/api/approve', {
      method: 'POST',
      body,
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.json().error?.message).toMatch(/cross-origin/);
    expect(
      (await call('/api/approve', { method: 'POST', body, headers: { 'sec-fetch-site': 'cross-site' } }))
        .status,
    ).toBe(403);
    expect(
      (await call('/api/approve', { method: 'POST', body: { ...body, ttlSeconds: -5 } })).json().error
        ?.message,
    ).toMatch(/^ttlSeconds: /);

    const approved = await call('/api/approve', { method: 'POST', body, headers: { origin } });
    expect(approved.status).toBe(200);
    const answer = approved.json() as {
      decision: { outcome: string; ttlSeconds: number };
      lease: { id: string; ttlSeconds: number };
    };
    expect(answer.decision.outcome).toBe('GRANTED');
    expect(answer.lease.ttlSeconds).toBe(60);
    const twice = await call('/api/approve', { method: 'POST', body });
    expect(twice.status).toBe(409);
    expect(twice.json().error?.code).toBe('FAILED_PRECONDITION');

    const second = await openBackup('http-deny-1');
    expect((await call('/api/deny', { method: 'POST', body: { pendingId: second.pendingId } })).status).toBe(
      400,
    );
    const denied = await call('/api/deny', {
      method: 'POST',
      body: { pendingId: second.pendingId, reason: 'not tonight' },
    });
    expect((denied.json() as { decision: { outcome: string; reason: string } }).decision).toMatchObject({
      outcome: 'DENIED',
      reason: expect.stringContaining('not tonight'),
    });

    const revoked = await call('/api/revoke', {
      method: 'POST',
      body: { leaseId: answer.lease.id, reason: 'done' },
    });
    expect((revoked.json() as { lease: { state: string; endReason: string } }).lease).toMatchObject({
      state: 'ended',
      endReason: 'revoked',
    });

    const missing = await call('/api/deny', { method: 'POST', body: { pendingId: 'pnd_nope', reason: 'x' } });
    expect(missing.status).toBe(404);
    expect(missing.json().error).toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/pnd_nope/),
    });
    const huge = await call('/api/revoke', {
      method: 'POST',
      body: { leaseId: 'lse_x', reason: 'x'.repeat(70_000) },
    });
    expect(huge.status).toBe(413);
    const wrongMethod = await call('/api/approve');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('POST');
    expect((await call('/api/nothing')).status).toBe(404);
  });

  it('explains what policy would decide, without side effects', async () => {
    const before = (await ts.server.store.listLeases({})).length;
    const yes = (
      await call('/api/explain', {
        method: 'POST',
        body: { host: 'web-1', open: 'tcp/5432', from: '198.18.1.0/24', ttl: '10m' },
      })
    ).json() as { decision: { outcome: string; ruleId: string; ttlSeconds: number } };
    expect(yes.decision).toMatchObject({ outcome: 'GRANTED', ruleId: 'web-postgres', ttlSeconds: 600 });
    const no = (
      await call('/api/explain', { method: 'POST', body: { host: 'web-1', open: ['tcp/23'], from: ['any'] } })
    ).json() as { decision: { outcome: string; ruleId: string } };
    expect(no.decision).toMatchObject({ outcome: 'DENIED', ruleId: 'no-telnet' });
    const manual = (
      await call('/api/explain', {
        method: 'POST',
        body: { host: 'web-1', open: 'backup-agent', from: 'backup-servers' },
      })
    ).json() as { decision: { outcome: string } };
    expect(manual.decision.outcome).toBe('PENDING');
    const bad = await call('/api/explain', { method: 'POST', body: { host: 'web-1', open: 'tcp/99999' } });
    expect(bad.status).toBe(400);
    expect(bad.json().error?.message).toMatch(/^open\[0\]: /);
    expect((await ts.server.store.listLeases({})).length).toBe(before);
    expect(
      (await ts.server.store.listPending('waiting')).some((p) => p.request.requestId === 'explain'),
    ).toBe(false);
  });

  it('filters the request log and exports it as JSON lines', async () => {
    await openBackup('http-log-1');
    const pending = (await call('/api/audit?host=web-1&decision=pending')).json() as {
      records: { outcome: string; actor: string; seq: number }[];
    };
    expect(pending.records.length).toBeGreaterThan(0);
    expect(pending.records.every((r) => r.outcome === 'PENDING' && r.actor === 'host/web-1')).toBe(true);
    const byRule = (await call('/api/audit?rule=web-postgres')).json() as { records: { ruleId: string }[] };
    expect(byRule.records.every((r) => r.ruleId === 'web-postgres')).toBe(true);
    const future = (await call(`/api/audit?since=${Date.now() + 60_000}`)).json() as { records: unknown[] };
    expect(future.records).toEqual([]);
    expect((await call('/api/audit?since=yesterday')).json().error?.message).toMatch(/^since: /);

    const exported = await call('/api/audit?host=web-1&format=jsonl');
    expect(exported.headers['content-disposition']).toMatch(
      /^attachment; filename="pinhole-audit-.*\.jsonl"$/,
    );
    expect(exported.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines = exported.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; hash: string });
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((l, i) => i === 0 || l.seq > (lines[i - 1]?.seq ?? 0))).toBe(true);
    expect(lines[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('maps every domain error code to an HTTP status', () => {
    for (const code of ERROR_CODES) expect(HTTP_STATUS_OF[code], code).toBeGreaterThanOrEqual(400);
  });
});

describe('change feed (Server-Sent Events)', () => {
  it('says "changed" after commits and pending requests, at most four times a second', async () => {
    const res = await open('/api/events');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/event-stream/);
    const events: { atMs: number; kinds: string[] }[] = [];
    let buffer = '';
    res.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (/^event: changed$/m.test(block) && data !== undefined)
          events.push({ atMs: Date.now(), kinds: (JSON.parse(data) as { kinds: string[] }).kinds });
      }
    });
    const until = async (pred: () => boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    };
    try {
      await until(() => events.length > 0, 2000);
      expect(events[0]?.kinds).toEqual(['hello']);

      const t0 = Date.now();
      await openLease('sse-1');
      await until(() => events.some((e) => e.kinds.includes('leases')), 2000);
      const first = events.find((e) => e.kinds.includes('leases'));
      expect(first).toBeDefined();
      expect((first?.atMs ?? Infinity) - t0).toBeLessThan(1000);

      // A burst of 40 grants over ~2 s: coalesced to at most one event per 250 ms.
      const burstStart = Date.now();
      for (let i = 0; i < 40; i++) {
        await openLease(`sse-burst-${i}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 400));
      const during = events.filter((e) => e.atMs >= burstStart);
      const seconds = (Date.now() - burstStart) / 1000;
      expect(during.length).toBeGreaterThan(1);
      expect(during.length).toBeLessThanOrEqual(Math.ceil(seconds * 4) + 1);
      for (let i = 1; i < during.length; i++)
        expect((during[i]?.atMs ?? 0) - (during[i - 1]?.atMs ?? 0)).toBeGreaterThanOrEqual(200);

      // A PENDING request changes no lease: the 2 s poll notices it.
      const mark = events.length;
      await openBackup('sse-pending-1');
      await until(() => events.slice(mark).some((e) => e.kinds.includes('pending')), 5000);
      expect(events.slice(mark).some((e) => e.kinds.includes('pending'))).toBe(true);
    } finally {
      res.destroy();
    }
  });
});
