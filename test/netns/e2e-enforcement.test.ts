/**
 * Issue 5 end to end, with real packets: a server, a gateway agent and a host agent, each
 * enforcing in its own network namespace; a client and an outside source in two more.
 *
 *   cli 198.18.1.1/24 ──┐            ┌── host 198.18.0.2/24 (listens on tcp/5432)
 *                       gw (forwards)
 *   out 198.18.3.1/24 ──┘
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { NetnsLab } from '../helpers/netns.js';
import {
  EXAMPLE_POLICY,
  hostClient,
  removeDir,
  sharedPki,
  spawnServer,
  spawnWatchSubscriber,
  tempDir,
  unaryCall,
  type ServerProcess,
} from '../helpers/pinhole.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { adminClient, readClientTls, type AdminClient, type OpeningClient } from '../../client-sdk/wire.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';

const HOST_ADDR = '198.18.0.2';
const PORT = 5432;

let lab: NetnsLab;
let ns: { cli: string; out: string; gw: string; host: string };
let dataDir: string;
let certDir: string;
let policyFile: string;
let server: ServerProcess;
let hostAgent: AgentProcess;
let gwAgent: AgentProcess;
let web: OpeningClient;
let admin: AdminClient;
const serverConfig = {
  store: { kind: 'sqlite', retainRevisions: 10 },
  watch: { queueLimit: 20, heartbeatSeconds: 1, progressIntervalMs: 500 },
  leases: { sweepIntervalMs: 100 },
};

async function startServer(): Promise<void> {
  server = await spawnServer({ dataDir, certDir, policyFile, config: serverConfig });
  /* eslint-disable @typescript-eslint/no-unnecessary-condition -- unset until the first start */
  web?.close();
  admin?.close();
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
  web = hostClient(server.address, certDir, 'web-1');
  admin = adminClient(server.address, readClientTls(certDir, 'admin-alice'));
}

function startAgents(): void {
  hostAgent = spawnAgent({
    server: server.address,
    certDir,
    identity: 'firewall-web-1',
    mode: 'host',
    netns: ns.host,
    stateFile: join(dataDir, 'host-agent.json'),
  });
  gwAgent = spawnAgent({
    server: server.address,
    certDir,
    identity: 'firewall-gw-1',
    mode: 'gateway',
    netns: ns.gw,
    stateFile: join(dataDir, 'gw-agent.json'),
  });
}

async function pinholeElements(namespace: string): Promise<string[]> {
  const r = await lab.exec(namespace, ['nft', '-j', 'list', 'table', 'inet', 'pinhole']);
  if (r.code !== 0) return [];
  const comments: string[] = [];
  for (const m of r.stdout.matchAll(/"comment":\s*"([^"]+)"/g)) if (m[1] !== undefined) comments.push(m[1]);
  return [...new Set(comments)].sort();
}

const open = (requestId: string, ttl = 60): Promise<OpenResponse__Output> =>
  unaryCall(web, web.Open, {
    requestId,
    openings: [{ ports: { protocol: 'TCP', from: PORT, to: PORT }, sources: [{ cidr: '198.18.1.0/24' }] }],
    requestedTtlSeconds: ttl,
  });

/** Polls until `probe` returns `want`; resolves with the time it took, or rejects after timeoutMs. */
async function until(probe: () => Promise<boolean>, want: boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if ((await probe()) === want) return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(`condition not ${String(want)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const clientReaches = (): Promise<boolean> => lab.canConnect(ns.cli, HOST_ADDR, PORT, { timeoutMs: 300 });
const outsideReaches = (): Promise<boolean> => lab.canConnect(ns.out, HOST_ADDR, PORT, { timeoutMs: 300 });

beforeAll(async () => {
  lab = new NetnsLab();
  ns = {
    cli: await lab.namespace('cli'),
    out: await lab.namespace('out'),
    gw: await lab.namespace('gw'),
    host: await lab.namespace('host'),
  };
  await lab.link({ ns: ns.cli, addrs: ['198.18.1.1/24'] }, { ns: ns.gw, addrs: ['198.18.1.254/24'] });
  await lab.link({ ns: ns.out, addrs: ['198.18.3.1/24'] }, { ns: ns.gw, addrs: ['198.18.3.254/24'] });
  await lab.link({ ns: ns.gw, addrs: ['198.18.0.254/24'] }, { ns: ns.host, addrs: [`${HOST_ADDR}/24`] });
  await lab.must(ns.cli, ['ip', 'route', 'add', 'default', 'via', '198.18.1.254']);
  await lab.must(ns.out, ['ip', 'route', 'add', 'default', 'via', '198.18.3.254']);
  await lab.must(ns.host, ['ip', 'route', 'add', 'default', 'via', '198.18.0.254']);
  await lab.must(ns.gw, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  await lab.listen(ns.host, PORT);
  dataDir = tempDir();
  certDir = sharedPki();
  policyFile = join(dataDir, 'policy.yaml');
  writeFileSync(
    policyFile,
    readFileSync(EXAMPLE_POLICY, 'utf8').replace(/min_ttl:\s*\d+[smhd]/, 'min_ttl: 1s'),
  );
  await startServer();
  startAgents();
  await hostAgent.waitFor(/"msg":"agent started"/);
  await gwAgent.waitFor(/"msg":"agent started"/);
}, 120_000);

afterAll(async () => {
  // beforeAll may have failed before any of these were set.
  /* eslint-disable @typescript-eslint/no-unnecessary-condition */
  await hostAgent?.kill('SIGKILL');
  await gwAgent?.kill('SIGKILL');
  await server?.kill('SIGKILL');
  web?.close();
  admin?.close();
  await lab?.cleanup();
  if (dataDir !== undefined) removeDir(dataDir);
  /* eslint-enable @typescript-eslint/no-unnecessary-condition */
});

describe('leases become kernel rules', () => {
  it('drops before the grant, passes within a second of Open, only from the granted source, and drops after Release', async () => {
    expect(await clientReaches()).toBe(false);
    const answer = await open('e2e-open-1');
    expect(answer.decision?.outcome).toBe('GRANTED');
    const tookMs = await until(clientReaches, true, 1000);
    expect(tookMs).toBeLessThanOrEqual(1000);
    expect(await outsideReaches()).toBe(false);
    expect(await pinholeElements(ns.host)).toContain(answer.lease!.id);
    expect(await pinholeElements(ns.gw)).toContain(answer.lease!.id);
    await unaryCall(web, web.Release, { leaseId: answer.lease!.id });
    await until(clientReaches, false, 1000);
    expect(await pinholeElements(ns.host)).not.toContain(answer.lease!.id);
  });

  it('closes at expiry without renewal', async () => {
    const answer = await open('e2e-expiry-1', 2);
    expect(answer.lease?.ttlSeconds).toBe(2);
    await until(clientReaches, true, 1000);
    const closedAfterMs = await until(clientReaches, false, 5000);
    expect(closedAfterMs).toBeGreaterThan(500);
  });

  it('an admin revoke drops new connections and cuts an established one', async () => {
    const answer = await open('e2e-revoke-1');
    await until(clientReaches, true, 1000);
    const held = await lab.hold(ns.cli, HOST_ADDR, PORT);
    expect(await held.echo('before')).toBe(true);
    await unaryCall(admin, admin.Revoke, { leaseId: answer.lease!.id, reason: 'e2e revoke test' });
    await until(clientReaches, false, 1000);
    expect(await held.echo('after', 1000)).toBe(false);
    held.close();
  });

  it('restores a hand-flushed table within a second and reports the tamper event', async () => {
    const answer = await open('e2e-tamper-1');
    await until(clientReaches, true, 1000);
    await lab.must(ns.host, ['nft', 'flush', 'table', 'inet', 'pinhole']);
    const restoredMs = await until(
      async () => (await pinholeElements(ns.host)).includes(answer.lease!.id),
      true,
      1000,
    );
    expect(restoredMs).toBeLessThanOrEqual(1000);
    await until(clientReaches, true, 1000);
    await until(
      async () => {
        const res = await unaryCall(admin, admin.ListEnforcers, {});
        return res.enforcers.some((e) => e.name === 'web-1' && e.tamperEvents.length > 0);
      },
      true,
      5000,
    );
    await unaryCall(web, web.Release, { leaseId: answer.lease!.id });
  });

  it('a lease becomes realized once both enforcers applied it', async () => {
    const answer = await open('e2e-realized-1');
    expect(answer.lease?.state).toBe('LEASE_GRANTED');
    const tookMs = await until(
      async () => {
        const mine = await unaryCall(web, web.ListMine, {});
        return mine.leases.find((l) => l.id === answer.lease!.id)?.state === 'LEASE_REALIZED';
      },
      true,
      3000,
    );
    expect(tookMs).toBeLessThan(3000);
    await unaryCall(web, web.Release, { leaseId: answer.lease!.id });
  });
});

describe('lease streams', () => {
  it('a restarted agent resumes from its last revision, and from a RESET + snapshot once that revision is gone', async () => {
    const keep = await open('e2e-resume-keep');
    await until(async () => (await pinholeElements(ns.host)).includes(keep.lease!.id), true, 2000);
    await new Promise((r) => setTimeout(r, 1200)); // the agent saves its state at most once a second
    await hostAgent.kill('SIGTERM');
    // Missed while the agent is down: one new lease, one release (within retention: 10 revisions).
    const added = await open('e2e-resume-added');
    await unaryCall(web, web.Release, { leaseId: keep.lease!.id });
    hostAgent = spawnAgent({
      server: server.address,
      certDir,
      identity: 'firewall-web-1',
      mode: 'host',
      netns: ns.host,
      stateFile: join(dataDir, 'host-agent.json'),
    });
    await hostAgent.waitFor(/resuming from saved state/);
    await until(async () => (await pinholeElements(ns.host)).includes(added.lease!.id), true, 3000);
    await until(async () => (await pinholeElements(ns.host)).includes(keep.lease!.id), false, 3000);
    expect(hostAgent.output()).not.toMatch(/re-syncing from a snapshot/);

    // Now miss more than the server retains.
    await new Promise((r) => setTimeout(r, 1200));
    await hostAgent.kill('SIGTERM');
    const churn: string[] = [];
    for (let i = 0; i < 8; i++) {
      const a = await open(`e2e-churn-${i}`);
      churn.push(a.lease!.id);
      await unaryCall(web, web.Release, { leaseId: a.lease!.id });
    }
    const survivor = await open('e2e-survivor');
    hostAgent = spawnAgent({
      server: server.address,
      certDir,
      identity: 'firewall-web-1',
      mode: 'host',
      netns: ns.host,
      stateFile: join(dataDir, 'host-agent.json'),
    });
    await hostAgent.waitFor(/re-syncing from a snapshot/);
    const live = (await unaryCall(web, web.ListMine, {})).leases.map((l) => l.id).sort();
    expect(live).toContain(survivor.lease!.id);
    await until(
      async () => JSON.stringify(await pinholeElements(ns.host)) === JSON.stringify(live),
      true,
      3000,
    );
    for (const id of churn) expect(await pinholeElements(ns.host)).not.toContain(id);
  });

  it('cuts a subscriber that stops reading with RESOURCE_EXHAUSTED while the agents keep up', async () => {
    const sub = spawnWatchSubscriber(server.address, certDir, 'firewall-gw-1');
    const slow = sub.child;
    const ids: string[] = [];
    try {
      await until(() => Promise.resolve(sub.output().includes('event PROGRESS')), true, 20_000); // subscribed, snapshot done
      slow.kill('SIGSTOP'); // stalled: reads nothing more
      for (let i = 0; i < 250; i++) {
        const a = await unaryCall(web, web.Open, {
          requestId: `e2e-flood-${i}`,
          // Distinct sources: each lease gets an element of its own in the first set layer.
          openings: [
            { ports: { protocol: 'TCP', from: PORT, to: PORT }, sources: [{ cidr: `198.18.1.${i + 1}/32` }] },
          ],
          requestedTtlSeconds: 60,
          description: 'x'.repeat(1000), // large events fill the transport window sooner
        });
        ids.push(a.lease!.id);
      }
      slow.kill('SIGCONT');
      await until(() => Promise.resolve(/status \d+/.test(sub.output())), true, 10_000);
      expect(sub.output()).toMatch(new RegExp(`status ${status.RESOURCE_EXHAUSTED} watch queue overflowed`));
      // The agents saw every lease: each one's id is a comment on a kernel element in both namespaces.
      const last = ids.at(-1)!;
      await until(async () => (await pinholeElements(ns.host)).includes(last), true, 3000);
      await until(async () => (await pinholeElements(ns.gw)).includes(last), true, 3000);
    } finally {
      slow.kill('SIGKILL');
      for (const id of ids) await unaryCall(web, web.Release, { leaseId: id });
    }
  });
});

describe('fail-closed', () => {
  it('SIGKILL of both agents and the server: the opening still closes at its expiry (kernel timeout)', async () => {
    // Only this lease may hold the path open: release what earlier tests left live.
    for (const l of (await unaryCall(web, web.ListMine, {})).leases)
      await unaryCall(web, web.Release, { leaseId: l.id });
    await until(
      async () => (await pinholeElements(ns.host)).length + (await pinholeElements(ns.gw)).length === 0,
      true,
      30_000,
    );
    expect(await clientReaches()).toBe(false);
    const answer = await open('e2e-dead-1', 3);
    await until(clientReaches, true, 1000);
    await Promise.all([hostAgent.kill('SIGKILL'), gwAgent.kill('SIGKILL'), server.kill('SIGKILL')]);
    expect(await clientReaches()).toBe(true); // still open: the kernel holds it
    const expiresIn = Number(answer.lease!.expiresAtUnixMs) - Date.now();
    await until(clientReaches, false, expiresIn + 3000);
  });
});
