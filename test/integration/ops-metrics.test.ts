/**
 * Issue 11: Prometheus metrics on the admin HTTPS listener. Scraped with the admin certificate
 * (other roles get 403, no certificate fails the handshake); named series move after an Open,
 * a policy reload, a watch subscription and an enforcer report; the text passes promtool.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpeningClient } from '../../client-sdk/wire.js';
import { watchClient, readClientTls } from '../../client-sdk/wire.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import { hostClient, removeDir, unaryCall, type TestServer } from '../helpers/pinhole.js';
import { startAdminTestServer } from './admin-fixtures.js';
import { httpsGet, promtoolCheck, sample } from './ops-fixtures.js';

let ts: TestServer;
let web: OpeningClient;

const scrape = async (): Promise<string> => {
  const reply = await httpsGet(ts.server.adminAddress, '/metrics', ts.certDir);
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return reply.text;
};

const open = (requestId: string, app?: string): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [
      app === undefined
        ? { ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }
        : { app, sources: [{ cidr: '198.18.9.0/24' }] },
    ],
    requestedTtlSeconds: 300,
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

describe('GET /metrics on the admin listener', () => {
  it('counts an Open by method and decision, times it and its commit, and counts the live lease', async () => {
    const before = await scrape();
    const granted = (t: string): number =>
      sample(t, 'pinhole_requests_total', { method: 'Open', outcome: 'GRANTED' }) ?? 0;
    const timed = (t: string): number =>
      sample(t, 'pinhole_request_duration_seconds_count', { method: 'Open', outcome: 'GRANTED' }) ?? 0;
    const commits = (t: string): number =>
      sample(t, 'pinhole_store_commit_duration_seconds_count', { outcome: 'ok' }) ?? 0;
    const live = (t: string): number => sample(t, 'pinhole_leases_live') ?? -1;
    const answer = await open('metrics-1');
    expect(answer.decision?.outcome).toBe('GRANTED');
    const after = await scrape();
    expect(granted(after)).toBe(granted(before) + 1);
    expect(timed(after)).toBe(timed(before) + 1);
    expect(commits(after)).toBeGreaterThan(commits(before));
    expect(live(after)).toBe(live(before) + 1);
    expect(sample(after, 'pinhole_store_revision')).toBe(Number(answer.lease?.revision));
    expect(sample(after, 'pinhole_store_up')).toBe(1);
  });

  it('counts refusals by error code and pending approvals', async () => {
    const before = await scrape();
    const pending = await open('metrics-pending', 'backup-agent');
    expect(pending.decision?.outcome).toBe('PENDING');
    await expect(
      unaryCall(web, web.Renew, { leaseId: 'lse_nope', requestedTtlSeconds: 60 }),
    ).rejects.toMatchObject({ code: 5 });
    const after = await scrape();
    expect(sample(after, 'pinhole_requests_total', { method: 'Open', outcome: 'PENDING' })).toBe(
      (sample(before, 'pinhole_requests_total', { method: 'Open', outcome: 'PENDING' }) ?? 0) + 1,
    );
    expect(sample(after, 'pinhole_requests_total', { method: 'Renew', outcome: 'NOT_FOUND' })).toBe(1);
    expect(sample(after, 'pinhole_approvals_pending')).toBe(
      (sample(before, 'pinhole_approvals_pending') ?? 0) + 1,
    );
  });

  it('reports watch subscribers, enforcer compliance and policy reloads', async () => {
    const watcher = watchClient(ts.address, readClientTls(ts.certDir, 'firewall-gw-1'));
    const stream = watcher.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } });
    stream.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      stream.once('data', () => {
        resolve();
      });
    });
    ts.server.registry.report('gw-1', {
      appliedRevision: ts.server.store.revision,
      error: '',
      tamperEvents: [],
      counters: [],
      mode: 'gateway',
      backend: 'nftables',
    });
    const reload = await ts.server.reloadPolicy();
    expect(reload.ok).toBe(true);
    const text = await scrape();
    expect(sample(text, 'pinhole_watch_subscribers')).toBe(1);
    expect(sample(text, 'pinhole_watch_queued_events')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'pinhole_enforcer_compliant', { enforcer: 'gw-1' })).toBe(1);
    expect(sample(text, 'pinhole_enforcer_applied_revision', { enforcer: 'gw-1' })).toBe(
      ts.server.store.revision,
    );
    expect(sample(text, 'pinhole_policy_reloads_total', { result: 'ok' })).toBe(1);
    stream.cancel();
    watcher.close();
  });

  it('passes promtool check metrics', async () => {
    const text = await scrape();
    const result = promtoolCheck(text);
    if (result.missing) {
      // CI must have promtool (Debian package prometheus); a developer machine may not.
      expect(process.env.CI, 'promtool is missing: apt-get install prometheus').not.toBe('true');
      return;
    }
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });

  it('needs an admin certificate: other roles get 403, no certificate fails the handshake', async () => {
    const host = await httpsGet(ts.server.adminAddress, '/metrics', ts.certDir, 'host-web-1');
    expect(host.status).toBe(403);
    expect(host.text).not.toContain('pinhole_requests_total');
    await expect(httpsGet(ts.server.adminAddress, '/metrics', ts.certDir, null)).rejects.toThrow();
  });
});
