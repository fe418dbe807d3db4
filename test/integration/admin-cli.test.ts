/**
 * `pinhole admin ...` against a running server over gRPC with the dev admin certificate: list,
 * approve (shorter TTL), deny, revoke, query and export the log, list enforcers; a non-admin
 * certificate gets the server's refusal and exit 1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { hostClient, removeDir, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { pinholeAsync, startAdminTestServer, type CliResult } from './admin-fixtures.js';

let ts: TestServer;
let web: OpeningClient;

const admin = (...args: string[]): Promise<CliResult> => {
  const [command = '', ...rest] = args;
  return pinholeAsync('admin', command, '--server', ts.address, '--certs', ts.certDir, ...rest);
};

const backup = (requestId: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ app: 'backup-agent', sources: [{ cidr: '198.18.9.0/24' }] }],
    requestedTtlSeconds: 600,
    description: 'nightly backup',
  });

beforeAll(async () => {
  ts = await startAdminTestServer();
  web = hostClient(ts.address, ts.certDir, 'web-1');
});

afterAll(async () => {
  web.close();
  await ts.close();
  removeDir(ts.dataDir);
});

describe('pinhole admin', () => {
  it('lists pending requests, approves one with a shorter TTL, lists and revokes the lease', async () => {
    const pending = await backup('cli-approve-1');
    const listed = await admin('pending');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(pending.pendingId);
    expect(listed.stdout).toContain('backup-agent from 198.18.9.0/24');
    expect(listed.stdout).toContain('rule nightly-backup');

    const approved = await admin(
      'approve',
      pending.pendingId,
      '--ttl',
      '2m',
      '--source',
      '198.18.9.0/25',
      '--comment',
      'tonight',
    );
    expect(approved.stderr).not.toMatch(/error/);
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(/^GRANTED by rule nightly-backup: approved by alice: tonight/);
    expect(approved.stdout).toMatch(/ttl 120s/);
    expect(approved.stdout).toContain('tcp/9102 from 198.18.9.0/25 to 198.18.0.2');
    const leaseId = /^(lse_\S+)/m.exec(approved.stdout)?.[1] ?? '';
    expect(leaseId).not.toBe('');

    const leases = await admin('leases', '--host', 'web-1');
    expect(leases.stdout).toContain(leaseId);
    expect(leases.stdout).toMatch(/never used/);

    const revoked = await admin('revoke', leaseId, '--reason', 'window closed');
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/ended \(revoked: window closed\)/);
  });

  it('denies with a reason; a missing reason or unknown id is refused with exit 1', async () => {
    const pending = await backup('cli-deny-1');
    expect((await admin('deny', pending.pendingId)).code).toBe(1); // --reason is required
    const denied = await admin('deny', pending.pendingId, '--reason', 'use the vault');
    expect(denied.code).toBe(0);
    expect(denied.stdout).toMatch(/^DENIED by rule nightly-backup: denied by alice: use the vault/);
    const unknown = await admin('approve', 'pnd_doesnotexist');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/error: pending_id: pnd_doesnotexist does not exist/);
  });

  it('queries the log as text and as JSON lines, and lists enforcers', async () => {
    const text = await admin('audit', '--host', 'web-1', '--decision', 'pending');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/host\/web-1 {2}open {2}PENDING rule nightly-backup/);
    const jsonl = await admin('audit', '--rule', 'nightly-backup', '--jsonl');
    const records = jsonl.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ruleId: string; detail: unknown; seq: string });
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(records.every((r) => r.ruleId === 'nightly-backup' && typeof r.detail === 'object')).toBe(true);
    const bad = await admin('audit', '--decision', 'MAYBE');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--decision/);

    const enforcers = await admin('enforcers');
    expect(enforcers.stdout).toMatch(/^gw-1 {2}NOT COMPLIANT {2}revision 0 {2}never reported/m);
  });

  it('a host certificate gets the server’s refusal and exit 1', async () => {
    const r = await admin('leases', '--identity', 'host-web-1');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*admin certificate/m);
  });
});
