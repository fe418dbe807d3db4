/**
 * Manual approval end to end over mTLS: a PENDING answer, the host following it with
 * WaitDecision, an admin approving (shorter TTL) or denying (with a reason) through the gRPC
 * Admin service, admin RPCs refused to host and firewall certificates, and a revocation that
 * ListLeases reports as ended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { adminClient, readClientTls, type AdminClient, type OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { WaitDecisionEvent__Output } from '../../proto/gen/pinhole/v1/WaitDecisionEvent.js';
import type { ListLeasesResponse__Output } from '../../proto/gen/pinhole/v1/ListLeasesResponse.js';
import type { ListPendingResponse__Output } from '../../proto/gen/pinhole/v1/ListPendingResponse.js';
import type { Lease__Output } from '../../proto/gen/pinhole/v1/Lease.js';
import { startAdminTestServer } from './admin-fixtures.js';
import { callError, hostClient, removeDir, unaryCall, type TestServer } from '../helpers/pinhole.js';

let ts: TestServer;
let web: OpeningClient;
let admin: AdminClient;

const backupRequest = (requestId: string): OpenRequest => ({
  requestId,
  openings: [{ app: 'backup-agent', sources: [{ cidr: '198.18.9.0/24' }] }],
  requestedTtlSeconds: 600,
  description: 'nightly backup',
});

/** Follows a pending request: resolves `first` on the initial PENDING event, `final` on the decision. */
function follow(pendingId: string): {
  first: Promise<OpenResponse__Output>;
  final: Promise<OpenResponse__Output>;
  stream: ClientReadableStream<WaitDecisionEvent__Output>;
} {
  const stream = web.WaitDecision({ pendingId });
  let resolveFirst!: (r: OpenResponse__Output) => void;
  const first = new Promise<OpenResponse__Output>((r) => (resolveFirst = r));
  const final = new Promise<OpenResponse__Output>((resolve, reject) => {
    stream.on('data', (event: WaitDecisionEvent__Output) => {
      const response = event.response;
      if (response === null) return;
      if (response.decision?.outcome === 'PENDING') resolveFirst(response);
      else resolve(response);
    });
    stream.on('error', reject);
  });
  return { first, final, stream };
}

beforeAll(async () => {
  ts = await startAdminTestServer();
  web = hostClient(ts.address, ts.certDir, 'web-1');
  admin = adminClient(ts.address, readClientTls(ts.certDir, 'admin-alice'));
});

afterAll(async () => {
  web.close();
  admin.close();
  await ts.close();
  removeDir(ts.dataDir);
});

describe('manual approval', () => {
  let approvedLease: Lease__Output;

  it('answers PENDING; an approval with a shorter TTL reaches the waiting host as GRANTED', async () => {
    const answer: OpenResponse__Output = await unaryCall(web, web.Open, backupRequest('backup-1'));
    expect(answer.decision?.outcome).toBe('PENDING');
    expect(answer.decision?.ruleId).toBe('nightly-backup');
    expect(answer.lease).toBeNull();
    expect(answer.pendingId).toMatch(/^pnd_/);

    const waiting = follow(answer.pendingId);
    expect((await waiting.first).decision?.outcome).toBe('PENDING');
    const listed: ListPendingResponse__Output = await unaryCall(admin, admin.ListPending, {});
    expect(listed.pending.map((p) => p.pendingId)).toContain(answer.pendingId);
    expect(listed.pending.find((p) => p.pendingId === answer.pendingId)?.host).toBe('web-1');

    const approved: OpenResponse__Output = await unaryCall(admin, admin.Approve, {
      pendingId: answer.pendingId,
      ttlSeconds: 120,
      comment: 'tonight only',
    });
    expect(approved.decision?.outcome).toBe('GRANTED');

    const final = await waiting.final;
    expect(final.decision?.outcome).toBe('GRANTED');
    expect(final.decision?.reason).toMatch(/approved by alice: tonight only/);
    const lease = final.lease!;
    expect(lease.ttlSeconds).toBe(120);
    expect(Number(lease.expiresAtUnixMs) - Number(lease.grantedAtUnixMs)).toBe(120_000);
    expect(lease.rules).toEqual([
      {
        protocol: 'TCP',
        portFrom: 9102,
        portTo: 9102,
        sourceCidr: '198.18.9.0/24',
        destination: '198.18.0.2',
      },
    ]);
    expect(lease.receipt).not.toBe('');
    expect(lease.id).toBe(approved.lease?.id);
    approvedLease = lease;

    // Decided once: a second approval is refused, and the request left the pending list.
    const again = await callError(unaryCall(admin, admin.Approve, { pendingId: answer.pendingId }));
    expect(again.code).toBe(status.FAILED_PRECONDITION);
    const after: ListPendingResponse__Output = await unaryCall(admin, admin.ListPending, {});
    expect(after.pending.map((p) => p.pendingId)).not.toContain(answer.pendingId);
  });

  it('refuses an approval that would lengthen the TTL or widen the sources', async () => {
    const answer: OpenResponse__Output = await unaryCall(web, web.Open, backupRequest('backup-wider'));
    const longer = await callError(
      unaryCall(admin, admin.Approve, { pendingId: answer.pendingId, ttlSeconds: 7200 }),
    );
    expect(longer.code).toBe(status.INVALID_ARGUMENT);
    expect(longer.details).toMatch(/ttl_seconds/);
    const wider = await callError(
      unaryCall(admin, admin.Approve, { pendingId: answer.pendingId, sourceCidrs: ['198.18.0.0/16'] }),
    );
    expect(wider.code).toBe(status.INVALID_ARGUMENT);
    expect(wider.details).toMatch(/source_cidrs\[0\]/);
    await unaryCall(admin, admin.Deny, { pendingId: answer.pendingId, reason: 'cleanup' });
  });

  it('a denial with a reason reaches the waiting host as DENIED with that reason', async () => {
    const answer: OpenResponse__Output = await unaryCall(web, web.Open, backupRequest('backup-2'));
    expect(answer.decision?.outcome).toBe('PENDING');
    const waiting = follow(answer.pendingId);
    await waiting.first;
    const denied: OpenResponse__Output = await unaryCall(admin, admin.Deny, {
      pendingId: answer.pendingId,
      reason: 'backups run from the vault only',
    });
    expect(denied.decision?.outcome).toBe('DENIED');
    const final = await waiting.final;
    expect(final.decision?.outcome).toBe('DENIED');
    expect(final.decision?.reason).toContain('backups run from the vault only');
    expect(final.lease).toBeNull();
    // A deny without a reason is refused: the host must be told why.
    const next: OpenResponse__Output = await unaryCall(web, web.Open, backupRequest('backup-3'));
    const noReason = await callError(
      unaryCall(admin, admin.Deny, { pendingId: next.pendingId, reason: '  ' }),
    );
    expect(noReason.code).toBe(status.INVALID_ARGUMENT);
    expect(noReason.details).toMatch(/reason/);
  });

  it('every admin RPC refuses host and firewall certificates with PERMISSION_DENIED', async () => {
    const explainRequest = {
      host: 'web-1',
      request: { requestId: 'x', openings: [{ ports: { protocol: 'TCP' as const, from: 5432, to: 5432 } }] },
    };
    for (const base of ['host-web-1', 'firewall-gw-1']) {
      const c = adminClient(ts.address, readClientTls(ts.certDir, base));
      const calls: [string, Promise<unknown>][] = [
        ['ListLeases', unaryCall(c, c.ListLeases, {})],
        ['ListPending', unaryCall(c, c.ListPending, {})],
        ['Approve', unaryCall(c, c.Approve, { pendingId: 'pnd_none' })],
        ['Deny', unaryCall(c, c.Deny, { pendingId: 'pnd_none', reason: 'x' })],
        ['Revoke', unaryCall(c, c.Revoke, { leaseId: approvedLease.id, reason: 'x' })],
        ['VerifyAudit', unaryCall(c, c.VerifyAudit, {})],
        ['Explain', unaryCall(c, c.Explain, explainRequest)],
        ['ReloadPolicy', unaryCall(c, c.ReloadPolicy, {})],
        ['ListEnforcers', unaryCall(c, c.ListEnforcers, {})],
      ];
      for (const [method, call] of calls) {
        const err: ServiceError = await callError(call);
        expect(err.code, `${base} ${method}`).toBe(status.PERMISSION_DENIED);
        expect(err.details, `${base} ${method}`).toMatch(/admin certificate/);
      }
      c.close();
    }
    // The lease a host tried to revoke is still live.
    const rows: ListLeasesResponse__Output = await unaryCall(admin, admin.ListLeases, { host: 'web-1' });
    expect(rows.leases.map((l) => l.id)).toContain(approvedLease.id);
  });

  // A server stream reports its refusal in the trailing status, not by hanging until the
  // deadline (regression: rpc/handler.ts once ended failed streams with destroy()).
  it('QueryAudit (a server stream) refuses host and firewall certificates too', async () => {
    for (const base of ['host-web-1', 'firewall-gw-1']) {
      const c = adminClient(ts.address, readClientTls(ts.certDir, base));
      const err: ServiceError = await callError(
        new Promise((resolve, reject) => {
          const stream = c.QueryAudit({}, { deadline: new Date(Date.now() + 3000) });
          stream.on('data', () => undefined);
          stream.on('error', reject);
          stream.on('end', resolve);
        }),
      );
      c.close();
      expect(err.code, base).toBe(status.PERMISSION_DENIED);
    }
  });

  it('a revocation shows in ListLeases as ended, with the reason', async () => {
    const revoked: Lease__Output = await unaryCall(admin, admin.Revoke, {
      leaseId: approvedLease.id,
      reason: 'backup window closed',
    });
    expect(revoked.state).toBe('LEASE_ENDED');
    const live: ListLeasesResponse__Output = await unaryCall(admin, admin.ListLeases, { host: 'web-1' });
    expect(live.leases.map((l) => l.id)).not.toContain(approvedLease.id);
    const all: ListLeasesResponse__Output = await unaryCall(admin, admin.ListLeases, {
      host: 'web-1',
      includeEnded: true,
    });
    const ended = all.leases.find((l) => l.id === approvedLease.id);
    expect(ended?.state).toBe('LEASE_ENDED');
    expect(ended?.endReason).toBe('REVOKED');
    expect(ended?.endDetail).toContain('backup window closed');
    // The host learns it on renew: a distinct, permanent refusal naming the reason.
    const renew = await callError(unaryCall(web, web.Renew, { leaseId: approvedLease.id }));
    expect(renew.code).toBe(status.FAILED_PRECONDITION);
    expect(renew.details).toContain('backup window closed');
  });
});
