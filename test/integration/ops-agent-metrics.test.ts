/**
 * Issue 11, agent side: FirewallAgent's metrics hooks (apply latency, applied revision, tamper
 * events, enforcer errors) recorded by AgentMetrics and served as plain HTTP on loopback only;
 * batches and reconciles above 5,000 leases log progress; `pinhole agent --metrics-listen` works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FirewallAgent } from '../../client-sdk/agent/agent.js';
import { AgentMetrics, serveMetrics, type MetricsEndpoint } from '../../client-sdk/agent/agent-metrics.js';
import type {
  ApplyBatch,
  Enforcer,
  EnforcerLease,
  ReconcileReport,
} from '../../client-sdk/enforcer/types.js';
import { readClientTls, type OpeningClient } from '../../client-sdk/wire.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import {
  hostClient,
  REPO,
  removeDir,
  startTestServer,
  unaryCall,
  type TestServer,
} from '../helpers/pinhole.js';
import { leaseFixture } from '../helpers/leases.js';
import { promtoolCheck, sample } from './ops-fixtures.js';

/** An in-memory firewall that can be told to fail an apply or to report tampering once. */
class FakeEnforcer implements Enforcer {
  readonly held = new Map<string, EnforcerLease>();
  failNextApply = false;
  tamperNextReconcile = false;
  init(): Promise<void> {
    return Promise.resolve();
  }
  apply(batch: ApplyBatch): Promise<void> {
    if (this.failNextApply) {
      this.failNextApply = false;
      return Promise.reject(new Error('nft: Could not process rule: No such file or directory'));
    }
    for (const l of batch.upserts) this.held.set(l.leaseId, l);
    for (const id of batch.deletes) this.held.delete(id);
    return Promise.resolve();
  }
  reconcile(desired: ReadonlyMap<string, EnforcerLease>): Promise<ReconcileReport> {
    const tampered = this.tamperNextReconcile;
    this.tamperNextReconcile = false;
    const missing = [...desired.keys()].filter((id) => !this.held.has(id)).length;
    this.held.clear();
    for (const [id, l] of desired) this.held.set(id, l);
    return Promise.resolve({
      tampered,
      missing: tampered ? Math.max(missing, 1) : missing,
      extra: 0,
      events: tampered ? ['element of lease x was deleted outside the agent'] : [],
    });
  }
  counters(): Promise<[]> {
    return Promise.resolve([]);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function get(address: string, path = '/metrics'): Promise<{ status: number; text: string }> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    request(
      { host: address.slice(0, colon), port: Number(address.slice(colon + 1)), path, agent: false },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text });
        });
      },
    )
      .on('error', reject)
      .end();
  });
}

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

let ts: TestServer;
let web: OpeningClient;
let agent: FirewallAgent;
let endpoint: MetricsEndpoint;
const enforcer = new FakeEnforcer();
const logs: { message: string; fields: Record<string, unknown> | undefined }[] = [];

beforeAll(async () => {
  // No PROGRESS heartbeats during the tests: one would start a batch window early and split the big batch.
  ts = await startTestServer({ watch: { progressIntervalMs: 600_000 } });
  web = hostClient(ts.address, ts.certDir, 'web-1');
  const metrics = new AgentMetrics({ backend: 'nftables' });
  endpoint = await serveMetrics('127.0.0.1:0', metrics.registry);
  agent = new FirewallAgent({
    server: ts.address,
    tls: readClientTls(ts.certDir, 'firewall-gw-1'),
    enforcer,
    mode: 'gateway',
    backend: 'nftables',
    reconcileIntervalMs: 200,
    metrics,
    log: (_level, message, fields) => logs.push({ message, fields }),
  });
  await agent.start();
});

afterAll(async () => {
  await agent.close();
  await endpoint.close();
  web.close();
  await ts.close();
  removeDir(ts.dataDir);
});

const open = (requestId: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    requestedTtlSeconds: 300,
  });

describe('agent metrics', () => {
  it('records apply latency, applied revision, enforcer errors and tamper events', async () => {
    const first = await open('agent-m-1');
    const revision = Number(first.lease?.revision);
    await eventually(() => agent.appliedRevision >= revision);
    enforcer.failNextApply = true;
    const second = await open('agent-m-2');
    await eventually(() => agent.appliedRevision >= Number(second.lease?.revision)); // applied on retry
    enforcer.tamperNextReconcile = true;
    await eventually(
      async () => (sample((await get(endpoint.address)).text, 'pinhole_agent_tamper_events_total') ?? 0) >= 1,
    );

    const { status, text } = await get(endpoint.address);
    expect(status).toBe(200);
    expect(sample(text, 'pinhole_agent_applied_revision')).toBe(agent.appliedRevision);
    expect(sample(text, 'pinhole_agent_leases')).toBe(2);
    expect(
      sample(text, 'pinhole_agent_apply_duration_seconds_count', { kind: 'batch' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sample(text, 'pinhole_agent_apply_duration_seconds_count', { kind: 'reconcile' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'pinhole_agent_changes_applied_total', { change: 'upsert' })).toBeGreaterThanOrEqual(
      2,
    );
    expect(
      sample(text, 'pinhole_agent_enforcer_errors_total', { operation: 'batch', backend: 'nftables' }),
    ).toBe(1);
    expect(
      sample(text, 'pinhole_agent_enforcer_errors_total', { operation: 'reconcile', backend: 'nftables' }),
    ).toBe(0);
    expect(sample(text, 'pinhole_agent_stream_connected')).toBe(1);
    const lint = promtoolCheck(text);
    if (lint.missing)
      expect(process.env.CI, 'promtool is missing: apt-get install prometheus').not.toBe('true');
    else expect(lint.output).toBe('');
    expect((await get(endpoint.address, '/other')).status).toBe(404);
  });

  it('logs progress for a batch, and a reconcile, of more than 5,000 leases', async () => {
    // The first agent's 200 ms reconciles of 5,000 leases would slow this event loop enough to split the batch.
    await agent.close();
    const seen: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    // Its own agent: a batch window wide enough that one 5,001-lease commit arrives as one batch.
    const big = new FirewallAgent({
      server: ts.address,
      tls: readClientTls(ts.certDir, 'firewall-gw-1'),
      enforcer: new FakeEnforcer(),
      mode: 'gateway',
      backend: 'nftables',
      // Delivering 5,001 events to an agent in this same event loop takes seconds.
      batchWindowMs: 10_000,
      reconcileIntervalMs: 1000,
      log: (_level, message, fields) => seen.push({ message, fields }),
    });
    await big.start();
    await eventually(() => big.appliedRevision >= ts.server.store.revision);
    const leases = Array.from({ length: 5001 }, () =>
      leaseFixture({ host: 'web-1', expiresAtMs: Date.now() + 600_000 }),
    );
    const result = await ts.server.store.commit({
      leases: leases.map((lease) => ({ kind: 'put', lease })),
      audit: [],
    });
    await eventually(() => seen.some((l) => l.message === 'large batch applied'), 30_000);
    const start = seen.find((l) => l.message === 'applying a large batch');
    const done = seen.find((l) => l.message === 'large batch applied');
    expect(start?.fields).toMatchObject({ upserts: 5001, deletes: 0, revision: result.revision });
    expect(done?.fields).toMatchObject({ upserts: 5001, deletes: 0 });
    expect(typeof done?.fields?.ms).toBe('number');
    // Its periodic reconcile now covers more than 5,000 leases.
    await eventually(() =>
      seen.some(
        (l) =>
          l.message === 'large reconcile done' &&
          (l.fields?.leases as number) > 5000 &&
          typeof l.fields?.ms === 'number',
      ),
    );
    await big.close();
  });

  it('serves metrics on loopback only', async () => {
    await expect(
      serveMetrics('0.0.0.0:0', new AgentMetrics({ backend: 'command', processMetrics: false }).registry),
    ).rejects.toThrow(/not a loopback address/);
    await expect(
      serveMetrics(
        '198.18.0.2:9465',
        new AgentMetrics({ backend: 'command', processMetrics: false }).registry,
      ),
    ).rejects.toThrow(/not a loopback address/);
  });

  it('pinhole agent --metrics-listen serves /metrics', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO, 'server', 'cli', 'pinhole.ts'),
        'agent',
        '--server',
        ts.address,
        '--certs',
        ts.certDir,
        '--identity',
        'firewall-gw-1',
        '--backend',
        'command',
        '--command',
        '/usr/bin/true',
        '--metrics-listen',
        '127.0.0.1:0',
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(
        () =>
          /"msg":"metrics served","url":"http:\/\/(127\.0\.0\.1:\d+)\/metrics"/.test(out) &&
          /"msg":"agent started"/.test(out),
        30_000,
      );
      const address = /"url":"http:\/\/(127\.0\.0\.1:\d+)\/metrics"/.exec(out)?.[1] ?? '';
      await eventually(
        async () =>
          (sample((await get(address)).text, 'pinhole_agent_applied_revision') ?? 0) >=
          ts.server.store.revision,
        20_000,
      );
      const { text } = await get(address);
      expect(
        sample(text, 'pinhole_agent_enforcer_errors_total', { operation: 'batch', backend: 'command' }),
      ).toBe(0);
    } finally {
      await new Promise<void>((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
  });
});
