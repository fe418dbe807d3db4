/**
 * Issue 4: a reload through the running server. Removing the rule that granted a live lease
 * revokes it (reason `policy`, naming the rule); an invalid file changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import {
  EXAMPLE_POLICY,
  callError,
  hostClient,
  removeDir,
  startTestServer,
  tempDir,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';

let dir: string;
let policyFile: string;
let ts: TestServer;
let web: OpeningClient;
const original = readFileSync(EXAMPLE_POLICY, 'utf8');

beforeAll(async () => {
  dir = tempDir();
  policyFile = join(dir, 'policy.yaml');
  writeFileSync(policyFile, original);
  ts = await startTestServer({ policy: { file: policyFile, watch: false } }, { dataDir: dir });
  web = hostClient(ts.address, ts.certDir, 'web-1');
});

afterAll(async () => {
  web.close();
  await ts.close();
  removeDir(dir);
});

const openPostgres = (requestId: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    requestedTtlSeconds: 600,
  });

describe('policy reload re-checks live leases', () => {
  it('an invalid file is refused and changes nothing', async () => {
    const before = await openPostgres('reload-invalid');
    writeFileSync(policyFile, `${original}\nrules: [this is not a rule list\n`);
    const outcome = await ts.server.reloadPolicy();
    expect(outcome.ok).toBe(false);
    expect(outcome.errors.join('\n')).toMatch(/policy\.yaml:\d+:\d+/);
    expect(outcome.revoked).toBe(0);
    const mine = await unaryCall(web, web.ListMine, {});
    expect(mine.leases.map((l) => l.id)).toContain(before.lease!.id);
    // The old policy is still in force: the same request is still granted.
    expect((await openPostgres('reload-invalid-after')).decision?.outcome).toBe('GRANTED');
  });

  it('removing the granting rule revokes its lease, naming the rule', async () => {
    writeFileSync(policyFile, original);
    const granted = await openPostgres('reload-remove');
    const ruleId = granted.decision!.ruleId;
    expect(granted.decision?.outcome).toBe('GRANTED');
    expect(original).toContain(`id: ${ruleId}`);
    // Drop the rule's block: from its `- id:` line up to the next rule.
    const without = original.replace(
      new RegExp(`\\n  - id: ${ruleId}\\n(?:    .*\\n|\\n)*?(?=  - id: )`),
      '\n',
    );
    expect(without).not.toContain(`id: ${ruleId}`);
    writeFileSync(policyFile, without);
    const outcome = await ts.server.reloadPolicy();
    expect(outcome.ok).toBe(true);
    expect(outcome.revoked).toBeGreaterThanOrEqual(1);
    const lease = await ts.server.store.getLease(granted.lease!.id);
    expect(lease?.state).toBe('ended');
    expect(lease?.endReason).toBe('policy');
    expect(lease?.endDetail).toContain(ruleId);
    const err = await callError(unaryCall(web, web.Renew, { leaseId: granted.lease!.id }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(ruleId);
    const records = await ts.server.store.auditRecords({ limit: 100_000 });
    expect(records.some((r) => r.action === 'policy-revoke' && r.leaseId === granted.lease!.id)).toBe(true);
    expect(records.some((r) => r.action === 'policy-reload' && r.outcome === 'OK')).toBe(true);
  });
});
