/**
 * `pinhole open` and `pinhole leases` as separate processes against a real server, and the worked
 * example (examples/service.ts): whatever way the process ends, no lease is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { createClient, type LeaseInfo, type PinholeClient } from '../../client-sdk/index.js';
import { REPO, removeDir, startTestServer, tempDir, type TestServer } from '../helpers/pinhole.js';

const POLICY = `defaults: { ttl: 5m, min_ttl: 1s, max_ttl: 1h, max_lifetime: 24h }
groups:
  web-tier: { hosts: ["web-*"] }
  replica-net: { cidrs: [198.18.1.0/24] }
rules:
  - id: no-telnet
    effect: deny
    requesters: [any]
    open: [tcp/23]
  - id: web-cache-replication
    requesters: [web-tier]
    open: [tcp/5432, tcp/15000-15999]
    from: [replica-net]
enforcers:
  gw-1: { watches: { all: true }, mode: gateway }
`;

let dir: string;
let ts: TestServer;
let check: PinholeClient;
const children: ChildProcess[] = [];

interface Run {
  readonly child: ChildProcess;
  /** stdout and stderr interleaved. */
  readonly output: () => string;
  readonly stdout: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(file: string, args: readonly string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, file), ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });
  return { child, output: () => out, stdout: () => stdout, exited };
}

const connectFlags = (): string[] => [
  '--server',
  ts.address,
  '--certs',
  ts.certDir,
  '--identity',
  'host-web-1',
];

function pinhole(...args: string[]): Run {
  return run('server/cli/pinhole.ts', args);
}

async function mine(description: string): Promise<LeaseInfo[]> {
  return (await check.listMine()).filter((l) => l.description === description);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = 15000 + Math.floor(Math.random() * 1000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => {
        resolve(false);
      });
      probe.listen(port, '127.0.0.1', () =>
        probe.close(() => {
          resolve(true);
        }),
      );
    });
    if (free) return port;
  }
}

beforeAll(async () => {
  dir = tempDir();
  const policy = join(dir, 'policy.yaml');
  writeFileSync(policy, POLICY);
  ts = await startTestServer({ policy: { file: policy, watch: false }, admin: { listen: '127.0.0.1:0' } });
  check = createClient({ server: ts.address, certDir: ts.certDir, identity: 'host-web-1' });
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await check.close();
  await ts.close();
  removeDir(ts.dataDir);
  removeDir(dir);
});

describe('pinhole open', () => {
  it('holds the opening while the command runs and releases it when it exits', async () => {
    const cli = pinhole(
      'open',
      '--port',
      'tcp/5432',
      '--from',
      '198.18.1.0/24',
      '--ttl',
      '30s',
      '--description',
      'cli sleep',
      ...connectFlags(),
      '--',
      'sleep',
      '2',
    );
    const lease = await until('the lease', async () => (await mine('cli sleep'))[0]);
    expect(lease.rules[0]).toMatchObject({ protocol: 'tcp', portFrom: 5432, sourceCidr: '198.18.1.0/24' });
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.output()).toMatch(/pinhole: GRANTED by rule web-cache-replication/);
    expect(await mine('cli sleep')).toEqual([]);
  });

  it('passes the command’s exit code through', async () => {
    const cli = pinhole(
      'open',
      '--port',
      'tcp/5432',
      '--from',
      '198.18.1.0/24',
      '--description',
      'cli exit 7',
      ...connectFlags(),
      '--',
      'sh',
      '-c',
      'exit 7',
    );
    expect((await cli.exited).code).toBe(7);
    expect(await mine('cli exit 7')).toEqual([]);
  });

  it('on SIGTERM forwards it to the command, releases, and exits 143', async () => {
    const cli = pinhole(
      'open',
      '--port',
      'tcp/5432',
      '--from',
      '198.18.1.0/24',
      '--description',
      'cli sigterm',
      ...connectFlags(),
      '--',
      'sleep',
      '30',
    );
    await until('the lease', async () => (await mine('cli sigterm'))[0]);
    await until('the command to start', () =>
      Promise.resolve(cli.output().includes('pinhole: lease ') ? true : undefined),
    );
    const sentAt = Date.now();
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(143);
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    expect(await mine('cli sigterm')).toEqual([]);
  });

  it('a signal while it waits for the firewalls cancels the opening and leaves nothing open', async () => {
    const cli = pinhole(
      'open',
      '--port',
      'tcp/5432',
      '--from',
      '198.18.1.0/24',
      '--wait',
      'realized',
      '--wait-timeout',
      '30s',
      '--description',
      'cli early',
      ...connectFlags(),
      '--',
      'true',
    );
    await until('the lease', async () => (await mine('cli early'))[0]);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(143);
    expect(cli.output()).toMatch(/SIGTERM before the opening was held; nothing left open/);
    expect(await mine('cli early')).toEqual([]);
  });

  it('--hold keeps the opening until SIGINT, then releases it', async () => {
    const cli = pinhole(
      'open',
      '--port',
      'tcp/5432',
      '--from',
      '198.18.1.0/24',
      '--ttl',
      '2s',
      '--description',
      'cli hold',
      '--hold',
      ...connectFlags(),
    );
    const first = await until('the lease', async () => (await mine('cli hold'))[0]);
    await new Promise((r) => setTimeout(r, 2500)); // longer than the term: it is being renewed
    expect((await mine('cli hold')).map((l) => l.id)).toEqual([first.id]);
    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    expect(await mine('cli hold')).toEqual([]);
  });

  it('a denied opening exits 1 naming the rule', async () => {
    const cli = pinhole(
      'open',
      '--port',
      'tcp/23',
      '--from',
      '198.18.1.0/24',
      ...connectFlags(),
      '--',
      'true',
    );
    expect((await cli.exited).code).toBe(1);
    expect(cli.output()).toMatch(/error: denied by rule no-telnet/);
  });
});

describe('pinhole leases', () => {
  it('lists this host’s leases as a table and as JSON', async () => {
    const opening = await check.open({
      ports: 'tcp/5432',
      from: '198.18.1.0/24',
      ttl: 60,
      description: 'listed',
    });
    const table = pinhole('leases', ...connectFlags());
    expect((await table.exited).code).toBe(0);
    expect(table.output()).toMatch(/^LEASE +STATE +EXPIRES IN +RULE +OPENS +DESCRIPTION$/m);
    expect(table.output()).toMatch(
      new RegExp(
        `^${opening.leaseId} +granted +(\\d+[smh])+ +web-cache-replication +tcp/5432 from 198\\.18\\.1\\.0/24 to 198\\.18\\.0\\.2 +listed$`,
        'm',
      ),
    );
    const json = pinhole('leases', '--json', ...connectFlags());
    expect((await json.exited).code).toBe(0);
    const parsed = JSON.parse(json.stdout()) as LeaseInfo[];
    expect(parsed.map((l) => l.id)).toContain(opening.leaseId);
    await opening.close();
  });
});

describe('examples/service.ts', () => {
  it('opens its port, serves, and releases the lease on SIGTERM', async () => {
    const port = await freePort();
    const service = run('examples/service.ts', [...connectFlags(), '--port', String(port), '--ttl', '30s']);
    await until('the service to listen', () =>
      Promise.resolve(service.output().includes('listening on') ? true : undefined),
    );
    const [lease] = await mine(`example service on tcp/${port}`);
    expect(lease?.rules[0]?.portFrom).toBe(port);
    const greeting = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(port, '127.0.0.1');
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => {
        resolve(text);
      });
      socket.on('error', reject);
    });
    expect(greeting).toBe(`hello from host-web-1 (lease ${lease?.id ?? ''})\n`);
    service.child.kill('SIGTERM');
    expect((await service.exited).signal).toBe('SIGTERM');
    expect(await mine(`example service on tcp/${port}`)).toEqual([]);
  });
});
