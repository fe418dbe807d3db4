/**
 * Shared by the admin, audit and console suites: a policy with a manual-approval rule (so the
 * suites do not depend on what examples/policy.yaml holds today) and a server started with it,
 * its admin console on a free port.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO, startTestServer, tempDir, writeFileSync, type TestServer } from '../helpers/pinhole.js';

/** A policy of our own, so the test does not depend on what examples/policy.yaml holds today. */
export const APPROVAL_POLICY = `
defaults: { ttl: 5m, min_ttl: 1s, max_ttl: 1h, max_lifetime: 24h }
groups:
  web: { hosts: ["web-*"] }
  replicas: { cidrs: [198.18.1.0/24] }
  backup-servers: { cidrs: [198.18.9.0/24] }
apps:
  backup-agent: { ports: [tcp/9102] }
rules:
  - id: no-telnet
    effect: deny
    requesters: [any]
    open: [tcp/23]
  - id: web-postgres
    requesters: [web]
    open: [tcp/5432]
    from: [replicas]
    max_ttl: 30m
  - id: nightly-backup
    description: the backup job needs an operator's yes
    requesters: [web]
    open: [backup-agent]
    from: [backup-servers]
    max_ttl: 30m
    approval: manual
enforcers:
  gw-1: { watches: { all: true } }
`;

/** A test server with APPROVAL_POLICY (or `policy`) and the admin listener on 127.0.0.1:0. */
export async function startAdminTestServer(
  policy = APPROVAL_POLICY,
  dataDir = tempDir(),
): Promise<TestServer> {
  const policyFile = join(dataDir, 'policy.yaml');
  writeFileSync(policyFile, policy);
  return startTestServer(
    { admin: { listen: '127.0.0.1:0' }, policy: { file: policyFile, watch: false } },
    { dataDir },
  );
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real command line, as an operator would run it. */
export function pinhole(...args: string[]): CliResult {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'server', 'cli', 'pinhole.ts'), ...args],
    { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * As `pinhole`, without blocking the event loop: needed when the command talks to a server
 * running in this process.
 */
export function pinholeAsync(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'server', 'cli', 'pinhole.ts'), ...args],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}
