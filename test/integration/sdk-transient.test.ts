/**
 * Failure handling the real server rarely shows on demand, against a scripted Opening service
 * (same mTLS, same PKI): transient errors with `pinhole-retry-after-ms`, the idempotent retry of
 * Open, WaitDecision heartbeats, and a policy revocation seen on Renew.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  createClient,
  type Opening,
  type OpeningEvents,
  type PinholeClient,
} from '../../client-sdk/index.js';
import type { OpenRequest__Output } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { Lease } from '../../proto/gen/pinhole/v1/Lease.js';
import { rawOpening } from '../helpers/raw-proto.js';
import { sharedPki } from '../helpers/pinhole.js';

type Script = (
  method: string,
  request: unknown,
) => { error: { code: status; details: string; retryAfterMs?: number } } | { response: object };

let server: Server;
let address: string;
let script: Script;
const calls: { method: string; atMs: number; request: unknown }[] = [];
const clients: PinholeClient[] = [];

function lease(id: string, ttlSeconds: number, extra: Partial<Lease> = {}): Lease {
  const now = Date.now();
  return {
    id,
    host: 'web-1',
    requestId: 'r',
    rules: [
      {
        protocol: 'TCP',
        portFrom: 5432,
        portTo: 5432,
        sourceCidr: '198.18.1.0/24',
        destination: '198.18.0.2',
      },
    ],
    ttlSeconds,
    grantedAtUnixMs: String(now),
    expiresAtUnixMs: String(now + ttlSeconds * 1000),
    maxLifetimeEndsAtUnixMs: String(now + 86_400_000),
    revision: '1',
    serverEpoch: 'epoch-1',
    state: 'LEASE_GRANTED',
    ruleId: 'rule-1',
    ...extra,
  };
}

function granted(l: Lease): OpenResponse {
  return {
    decision: { outcome: 'GRANTED', ruleId: 'rule-1', reason: 'ok' },
    lease: l,
    serverEpoch: 'epoch-1',
  };
}

function unary(method: string) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
    calls.push({ method, atMs: Date.now(), request: call.request });
    const out = script(method, call.request);
    if ('error' in out) {
      const metadata = new Metadata();
      if (out.error.retryAfterMs !== undefined)
        metadata.set('pinhole-retry-after-ms', String(out.error.retryAfterMs));
      callback({ code: out.error.code, details: out.error.details, metadata });
    } else callback(null, out.response);
  };
}

function next<K extends keyof OpeningEvents>(
  opening: Opening,
  name: K,
  ms = 10_000,
): Promise<OpeningEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no ${name} event within ${ms} ms`));
    }, ms);
    opening.once(name, ((...args: OpeningEvents[K]) => {
      clearTimeout(timer);
      resolve(args);
    }) as never);
  });
}

function client(): PinholeClient {
  const c = createClient({ server: address, certDir: sharedPki(), identity: 'host-web-1', pollMs: 50 });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  const certs = sharedPki();
  server = new Server();
  const handlers: UntypedServiceImplementation = {
    Open: unary('Open'),
    Renew: unary('Renew'),
    Release: unary('Release'),
    ListMine: unary('ListMine'),
    WaitDecision: (call: ServerWritableStream<{ pendingId: string }, unknown>) => {
      calls.push({ method: 'WaitDecision', atMs: Date.now(), request: call.request });
      const pendingAnswer = {
        decision: { outcome: 'PENDING', ruleId: 'manual', reason: 'needs approval' },
        pendingId: call.request.pendingId,
        serverEpoch: 'epoch-1',
      };
      call.write({ response: pendingAnswer }); // first the current answer, then heartbeats
      const heartbeat = setTimeout(() => call.write({ response: pendingAnswer }), 100);
      const decided = setTimeout(() => {
        call.write({ response: granted(lease('lse_approved', 60)) });
        call.end();
      }, 300);
      call.on('cancelled', () => {
        clearTimeout(heartbeat);
        clearTimeout(decided);
      });
    },
  };
  server.addService(rawOpening().Opening.service, handlers);
  const credentials = ServerCredentials.createSsl(
    readFileSync(join(certs, 'ca.crt')),
    [
      {
        private_key: readFileSync(join(certs, 'server.key')),
        cert_chain: readFileSync(join(certs, 'server.crt')),
      },
    ],
    true,
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (e, p) => {
      if (e === null) resolve(p);
      else reject(e);
    });
  });
  address = `127.0.0.1:${port}`;
});

beforeEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  calls.length = 0;
});

afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  server.forceShutdown();
});

describe('transient failures', () => {
  it('retries Open with the same request id, waiting at least pinhole-retry-after-ms', async () => {
    let opens = 0;
    script = (method) => {
      if (method === 'Open' && ++opens <= 2)
        return { error: { code: status.UNAVAILABLE, details: 'store busy', retryAfterMs: 300 } };
      return { response: method === 'Open' ? granted(lease('lse_1', 60)) : {} };
    };
    const opening = await client().open({
      ports: 'tcp/5432',
      from: '198.18.1.0/24',
      requestId: 'my-request-1',
    });
    expect(opening.leaseId).toBe('lse_1');
    const attempts = calls.filter((c) => c.method === 'Open');
    expect(attempts).toHaveLength(3);
    expect(new Set(attempts.map((a) => (a.request as OpenRequest__Output).requestId))).toEqual(
      new Set(['my-request-1']),
    );
    expect(attempts[1]!.atMs - attempts[0]!.atMs).toBeGreaterThanOrEqual(295);
    expect(attempts[2]!.atMs - attempts[1]!.atMs).toBeGreaterThanOrEqual(295);
  });

  it('does not retry a permanent error and gives up on a transient one at openTimeoutMs', async () => {
    script = () => ({
      error: { code: status.INVALID_ARGUMENT, details: 'openings[0].app: "x" is not in the catalog' },
    });
    await expect(client().open({ app: 'x' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      retryable: false,
      message: 'openings[0].app: "x" is not in the catalog',
    });
    expect(calls).toHaveLength(1);
    script = () => ({ error: { code: status.UNAVAILABLE, details: 'down' } });
    const started = Date.now();
    await expect(client().open({ app: 'x', openTimeoutMs: 700 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('retries a renewal refused with RESOURCE_EXHAUSTED after the hint and keeps the lease', async () => {
    let renews = 0;
    script = (method) => {
      if (method === 'Open') return { response: granted(lease('lse_2', 2)) };
      if (method === 'Renew' && ++renews === 1)
        return { error: { code: status.RESOURCE_EXHAUSTED, details: 'slow down', retryAfterMs: 250 } };
      return {
        response:
          method === 'Renew'
            ? { lease: lease('lse_2', 2, { renewedAtUnixMs: String(Date.now()) }), serverEpoch: 'epoch-1' }
            : {},
      };
    };
    const opening = await client().open({ ports: 'tcp/5432', ttl: 2 });
    const [error] = await next(opening, 'error');
    expect(error).toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      retryAfterMs: 250,
      method: 'Renew',
      message: 'slow down',
    });
    const [renewed] = await next(opening, 'renewed');
    expect(renewed.lease.id).toBe('lse_2');
    const renewCalls = calls.filter((c) => c.method === 'Renew');
    expect(renewCalls[1]!.atMs - renewCalls[0]!.atMs).toBeGreaterThanOrEqual(245);
    expect(opening.state).toBe('open');
  });

  it('reports a policy revocation seen on Renew as revoked by policy', async () => {
    script = (method) => {
      if (method === 'Open') return { response: granted(lease('lse_3', 1)) };
      if (method === 'Renew')
        return {
          error: {
            code: status.FAILED_PRECONDITION,
            details: 'lease_id: lse_3 was ended by a policy change: rule-1: removed',
          },
        };
      return { response: {} };
    };
    const opening = await client().open({ ports: 'tcp/5432', ttl: 1 });
    const [revoked] = await next(opening, 'revoked');
    expect(revoked).toEqual({ leaseId: 'lse_3', by: 'policy', reason: 'rule-1: removed' });
    expect(calls.filter((c) => c.method === 'Open')).toHaveLength(1);
  });
});

describe('WaitDecision', () => {
  it('ignores PENDING heartbeats and resolves with the final answer', async () => {
    script = (method) => {
      if (method === 'Open')
        return {
          response: {
            decision: { outcome: 'PENDING', ruleId: 'manual', reason: 'needs approval' },
            pendingId: 'pnd_1',
            serverEpoch: 'epoch-1',
          },
        };
      return { response: {} };
    };
    const opening = await client().open({ ports: 'tcp/22', pendingTimeoutMs: 5000 });
    expect(opening.state).toBe('open');
    expect(opening.leaseId).toBe('lse_approved');
    expect(calls.find((c) => c.method === 'WaitDecision')?.request).toEqual({ pendingId: 'pnd_1' });
  });
});
