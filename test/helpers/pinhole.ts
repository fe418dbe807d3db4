/**
 * Test harness: a real Pinhole server (in-process or as a child process) on 127.0.0.1:0 with
 * real mTLS, a real SQLite file and a fresh dev PKI in a temporary directory.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { removeDir, tempDir } from './tmp.js';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { initDevPki } from '../../server/identity/pki.js';
import { startServer, type PinholeServer } from '../../server/app.js';
import { parseConfig } from '../../server/config/load.js';
import type { ConfigInput } from '../../server/config/schema.js';
import { createRootLogger } from '../../server/log.js';
import { openingClient, readClientTls, type OpeningClient } from '../../client-sdk/wire.js';

/**
 * The repository root: the nearest folder above this file with a package.json, so that the
 * transpiled twin a bench run starts its children from (bench/.build/test/helpers/) finds it too.
 */
function repoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..');
  }
}

export const REPO = repoRoot(import.meta.dirname);
export const EXAMPLE_POLICY = join(REPO, 'examples', 'policy.yaml');

const pkiCache = new Map<string, string>();

/** A dev PKI generated once per test process (RSA key generation is the slow part). */
export function sharedPki(): string {
  const cached = pkiCache.get('default');
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-pki-'));
  initDevPki({ dir });
  pkiCache.set('default', dir);
  return dir;
}

export interface TestServer {
  readonly server: PinholeServer;
  readonly address: string;
  readonly certDir: string;
  readonly dataDir: string;
  close(): Promise<void>;
}

export async function startTestServer(
  overrides: ConfigInput = {},
  dirs: { dataDir?: string; certDir?: string } = {},
): Promise<TestServer> {
  const certDir = dirs.certDir ?? sharedPki();
  const dataDir = dirs.dataDir ?? tempDir();
  const config = parseConfig({
    listen: '127.0.0.1:0',
    dataDir,
    certs: { dir: certDir, autoInit: false },
    policy: { file: EXAMPLE_POLICY, watch: false },
    log: { level: 'silent' },
    admin: { listen: '127.0.0.1:0' },
    ...overrides,
  });
  const server = await startServer(config, { log: createRootLogger(config.log.level) });
  return { server, address: server.address, certDir, dataDir, close: () => server.close() };
}

export function hostClient(address: string, certDir: string, host = 'web-1'): OpeningClient {
  return openingClient(address, readClientTls(certDir, `host-${host}`));
}

/** Calls a unary method and resolves with its response or rejects with the ServiceError. */
export function unaryCall<Req, Res>(
  client: Client,
  method: (req: Req, cb: (err: ServiceError | null, res?: Res) => void) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolvePromise, reject) => {
    method.call(client, request, (err, res) => {
      if (err !== null) reject(err);
      else if (res === undefined) reject(new Error('empty response'));
      else resolvePromise(res);
    });
  });
}

/** Awaits a rejected call and returns its ServiceError. */
export async function callError(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/**
 * Per-identity limits out of the way, for tests whose subject is load on something else (the
 * store, failover): one test host then makes many more calls than a real host would.
 */
export const LOAD_LIMITS = {
  requestsPerSecond: 1_000_000,
  burst: 1_000_000,
  maxLiveLeasesPerHost: 10_000_000,
};

/** Server processes still running; killed when the test process exits, so none is orphaned. */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A `pinhole serve` child process; resolves once it prints its listening address. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly address: string;
  readonly output: () => string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function spawnServer(args: {
  dataDir: string;
  certDir: string;
  policyFile?: string;
  port?: number;
  /** Extra configuration (merged over a test default that puts the admin console on a free port). */
  config?: Record<string, unknown>;
  /** A command the server runs under, e.g. `['taskset', '-c', '0']`. */
  wrap?: readonly string[];
}): Promise<ServerProcess> {
  const configFile = join(
    args.dataDir,
    `server-config-${Date.now()}-${Math.random().toString(36).slice(2)}.yaml`,
  );
  // JSON is YAML: the server reads this like an operator's file.
  writeFileSync(configFile, JSON.stringify({ admin: { listen: '127.0.0.1:0' }, ...args.config }));
  const wrap = args.wrap ?? [];
  const command = wrap[0] ?? process.execPath;
  const prefix = wrap.length > 0 ? [...wrap.slice(1), process.execPath] : [];
  const child = spawn(
    command,
    [
      ...prefix,
      '--import',
      'tsx',
      join(REPO, 'server', 'cli', 'pinhole.ts'),
      'serve',
      '--listen',
      `127.0.0.1:${args.port ?? 0}`,
      '--data-dir',
      args.dataDir,
      '--certs',
      args.certDir,
      '--policy',
      args.policyFile ?? EXAMPLE_POLICY,
      '--config',
      configFile,
    ],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const address = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`server did not start:\n${out}`));
    }, 30_000);
    const check = (): void => {
      const m = /pinhole listening on (\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolvePromise(m[1]);
      }
    };
    child.stdout.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${out}`));
    });
  });
  return {
    child,
    address,
    output: () => out,
    kill: (signal = 'SIGKILL') =>
      new Promise((resolvePromise) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolvePromise(child.exitCode);
          return;
        }
        child.once('exit', (code) => {
          resolvePromise(code);
        });
        child.kill(signal);
      }),
  };
}

export { readFileSync, writeFileSync, removeDir, tempDir };

/** A lease-stream subscriber child (test/helpers/watch-subscriber.ts), for tests that stall one for real. */
export interface SubscriberProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far: `event <type> <revision>` lines, then `status <code> <details>`. */
  output(): string;
}

export function spawnWatchSubscriber(address: string, certDir: string, identity: string): SubscriberProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'test', 'helpers', 'watch-subscriber.ts'), address, certDir, identity],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}
