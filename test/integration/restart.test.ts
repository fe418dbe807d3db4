/**
 * Durability across SIGKILL: an acknowledged grant is on disk before its answer leaves, the
 * request id stays the idempotency key across a restart, and leases that expired while the
 * server was down end (and are logged) at the next start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { ListMineResponse__Output } from '../../proto/gen/pinhole/v1/ListMineResponse.js';
import {
  EXAMPLE_POLICY,
  hostClient,
  removeDir,
  sharedPki,
  spawnServer,
  tempDir,
  unaryCall,
  type ServerProcess,
} from '../helpers/pinhole.js';

let dataDir: string;
let certDir: string;
let policyFile: string;
const running: ServerProcess[] = [];

beforeAll(() => {
  dataDir = tempDir();
  certDir = sharedPki();
  // The example policy with a 1-second minimum TTL, so a lease can expire within the test.
  policyFile = join(dataDir, 'policy.yaml');
  writeFileSync(
    policyFile,
    readFileSync(EXAMPLE_POLICY, 'utf8').replace(/min_ttl:\s*\d+[smhd]/, 'min_ttl: 1s'),
  );
});
afterAll(async () => {
  for (const p of running) await p.kill('SIGKILL');
  removeDir(dataDir);
});

async function start(): Promise<{ proc: ServerProcess; web: OpeningClient }> {
  const proc = await spawnServer({ dataDir, certDir, policyFile });
  running.push(proc);
  return { proc, web: hostClient(proc.address, certDir, 'web-1') };
}

const request = (requestId: string, ttl: number): OpenRequest => ({
  requestId,
  openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
  requestedTtlSeconds: ttl,
});

describe('SIGKILL and restart', () => {
  it('keeps acknowledged grants, idempotency and revisions; expires what ended while down', async () => {
    const first = await start();
    const kept: OpenResponse__Output = await unaryCall(first.web, first.web.Open, request('durable-1', 600));
    const short: OpenResponse__Output = await unaryCall(first.web, first.web.Open, request('short-1', 1));
    expect(kept.decision?.outcome).toBe('GRANTED');
    expect(short.decision?.outcome).toBe('GRANTED');
    expect(short.lease?.ttlSeconds).toBe(1);
    first.web.close();
    // Killed right after the GRANTED answers: no graceful shutdown, no flush.
    await first.proc.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1200)); // the short lease's term ends while the server is down

    const second = await start();
    const mine: ListMineResponse__Output = await unaryCall(second.web, second.web.ListMine, {});
    const durable = mine.leases.find((l) => l.id === kept.lease?.id);
    expect(durable).toBeDefined();
    expect(durable?.revision).toBe(kept.lease?.revision);
    expect(durable?.expiresAtUnixMs).toBe(kept.lease?.expiresAtUnixMs);
    expect(durable?.serverEpoch).toBe(kept.serverEpoch); // same store, same epoch
    expect(mine.leases.find((l) => l.id === short.lease?.id)).toBeUndefined();
    expect(second.proc.output()).toMatch(
      new RegExp(`"leaseId":"${short.lease?.id ?? 'none'}".*"msg":"lease expired"`),
    );

    // The same request id after the restart returns the first answer, not a second lease.
    const retry: OpenResponse__Output = await unaryCall(
      second.web,
      second.web.Open,
      request('durable-1', 600),
    );
    expect(retry.lease?.id).toBe(kept.lease?.id);
    const after: ListMineResponse__Output = await unaryCall(second.web, second.web.ListMine, {});
    expect(after.leases.filter((l) => l.requestId === 'durable-1')).toHaveLength(1);
    // Revisions keep increasing after the restart.
    const next: OpenResponse__Output = await unaryCall(
      second.web,
      second.web.Open,
      request('after-restart', 600),
    );
    expect(Number(next.lease?.revision)).toBeGreaterThan(Number(kept.lease?.revision));
    second.web.close();
  });
});
