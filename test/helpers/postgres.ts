/**
 * A throwaway PostgreSQL cluster for a test file: initdb into a temporary directory, started on a
 * free loopback port with its socket in that directory, stopped and removed at the end. Root
 * cannot run postgres, so as root the cluster runs as the `postgres` user (runuser).
 * It never skips: when the binaries are missing or the cluster does not start, it throws with
 * the server's log — `test/setup-system.sh` installs PostgreSQL for `npm test`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { status, type ServiceError } from '@grpc/grpc-js';
import { readClientTls, watchClient, type OpeningClient } from '../../client-sdk/wire.js';
import type { OpenRequest } from '../../proto/gen/pinhole/v1/OpenRequest.js';
import type { OpenResponse__Output } from '../../proto/gen/pinhole/v1/OpenResponse.js';
import type { WatchEvent__Output } from '../../proto/gen/pinhole/v1/WatchEvent.js';
import { unaryCall } from './pinhole.js';

const run = promisify(execFile);

export interface TestPostgres {
  /** URL of the `postgres` database (superuser, trust auth, loopback). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** `fast` stop: sessions are terminated, like a database restart or failover. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops (immediately) and removes the cluster. Idempotent. */
  close(): Promise<void>;
}

/** The server binaries: $PG_BIN, else the newest /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv !== undefined && existsSync(join(fromEnv, 'postgres'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined) {
    throw new Error(
      'PostgreSQL server binaries not found (looked in $PG_BIN and /usr/lib/postgresql/*/bin); run `bash test/setup-system.sh` as root',
    );
  }
  return join(root, newest, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

let databases = 0;

export interface StartPostgresOptions {
  /**
   * fsync WAL and data (default false). Tests kill Pinhole servers, not PostgreSQL, and stop it
   * cleanly, so they do not depend on it; without it a test database is created in a third of
   * the time. Benchmarks turn it on to measure what production pays.
   */
  readonly durable?: boolean;
}

export async function startPostgres(o: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const root = userInfo().uid === 0;
  const dir = mkdtempSync(join(tmpdir(), 'pinhole-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  // As root, everything runs as `postgres`, which must own the directory.
  const as = (cmd: string, args: string[]): [string, string[]] =>
    root ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const fail = (what: string, error: unknown): Error => {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '(no log)';
    rmSync(dir, { recursive: true, force: true });
    return new Error(
      `test PostgreSQL: ${what} failed: ${error instanceof Error ? error.message : String(error)}\n${log}`,
    );
  };
  try {
    await run(
      ...as('initdb', [
        '-D',
        dataDir,
        '-A',
        'trust',
        '-U',
        'postgres',
        '--no-sync',
        '-E',
        'UTF8',
        '--locale=C',
      ]),
    );
  } catch (error) {
    throw fail('initdb', error);
  }
  let port = 0;
  const pgCtl = (args: string[]): Promise<unknown> => run(...as('pg_ctl', ['-D', dataDir, ...args]));
  const startCluster = async (): Promise<void> => {
    const options = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB -c fsync=${o.durable === true ? 'on' : 'off'}`;
    await pgCtl(['-o', options, '-l', logFile, '-w', '-t', '30', 'start']);
  };
  // A port found free can be taken before postgres binds it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await startCluster();
      break;
    } catch (error) {
      if (attempt >= 3) throw fail('pg_ctl start', error);
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let closed = false;
  const stopNow = (): void => {
    try {
      execFileSync(...as('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A crashed test run must not leave a postgres behind.
  const onExit = (): void => {
    if (!closed) stopNow();
  };
  process.once('exit', onExit);
  return {
    url,
    port,
    dataDir,
    async createDatabase(prefix = 'pinhole'): Promise<string> {
      const name = `${prefix}_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop(): Promise<void> {
      await pgCtl(['-m', 'fast', '-w', 'stop']);
    },
    async start(): Promise<void> {
      await startCluster();
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      process.removeListener('exit', onExit);
      stopNow();
      return Promise.resolve();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load and watch helpers for the PostgreSQL integration suites (test/integration/pg-*.test.ts).

/** An Open the example policy grants web-1 (rule web-cache-replication), with the given TTL. */
export function openRequest(requestId: string, ttlSeconds: number): OpenRequest {
  return {
    requestId,
    openings: [{ ports: { protocol: 'TCP', from: 5432, to: 5432 }, sources: [{ cidr: '198.18.1.0/24' }] }],
    requestedTtlSeconds: ttlSeconds,
  };
}

export interface AckedGrant {
  readonly requestId: string;
  readonly leaseId: string;
  readonly revision: number;
}

export interface FailedOpen {
  readonly requestId: string;
  readonly code: number;
  readonly details: string;
  readonly atMs: number;
  readonly latencyMs: number;
}

export interface LoadOptions {
  readonly client: OpeningClient;
  readonly prefix: string;
  readonly ttlSeconds: number;
  readonly concurrency: number;
  /** Stop after this many requests (default: until `stop` says so). */
  readonly count?: number;
  readonly stop?: () => boolean;
  /** Pause between a worker's requests, ms (default 0). */
  readonly pauseMs?: number;
  readonly onAck?: (grant: AckedGrant) => void;
  readonly onFail?: (failure: FailedOpen) => void;
}

/** Runs Opens with `concurrency` workers; every request id is used once. */
export async function openLoad(o: LoadOptions): Promise<{ acked: AckedGrant[]; failed: FailedOpen[] }> {
  const acked: AckedGrant[] = [];
  const failed: FailedOpen[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while ((o.count === undefined || next < o.count) && o.stop?.() !== true) {
      const requestId = `${o.prefix}-${next++}`;
      const started = Date.now();
      try {
        const res: OpenResponse__Output = await unaryCall(
          o.client,
          o.client.Open,
          openRequest(requestId, o.ttlSeconds),
        );
        if (res.lease === null)
          throw new Error(`${requestId}: ${res.decision?.outcome ?? '?'} without a lease`);
        const grant = { requestId, leaseId: res.lease.id, revision: Number(res.lease.revision) };
        acked.push(grant);
        o.onAck?.(grant);
      } catch (e) {
        const err = e as Partial<ServiceError>;
        const failure = {
          requestId,
          code: err.code ?? -1,
          details: err.details ?? String(e),
          atMs: Date.now(),
          latencyMs: Date.now() - started,
        };
        failed.push(failure);
        o.onFail?.(failure);
      }
      if (o.pauseMs !== undefined) await new Promise((r) => setTimeout(r, o.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  return { acked, failed };
}

export interface SeenEvent {
  readonly type: string;
  readonly revision: number;
  readonly leaseId: string;
}

/** A firewall's raw lease stream from revision 0, recording every event. */
export interface WatchLog {
  readonly events: SeenEvent[];
  /** Live (non-snapshot) UPSERT and DELETE events. */
  changes(): SeenEvent[];
  maxRevision(): number;
  error(): ServiceError | undefined;
  close(): void;
}

export function watchAll(address: string, certDir: string, identity = 'firewall-gw-1'): WatchLog {
  const client = watchClient(address, readClientTls(certDir, identity));
  const stream = client.Watch({ fromRevision: '0', scope: { hosts: [], groups: [] } });
  const events: SeenEvent[] = [];
  let failure: ServiceError | undefined;
  stream.on('data', (e: WatchEvent__Output) => {
    if (e.snapshot) return;
    events.push({ type: e.type, revision: Number(e.revision), leaseId: e.leaseId });
  });
  stream.on('error', (e: ServiceError) => {
    if (e.code !== status.CANCELLED) failure = e; // close() cancels
  });
  const changes = (): SeenEvent[] => events.filter((e) => e.type === 'UPSERT' || e.type === 'DELETE');
  return {
    events,
    changes,
    maxRevision: () => changes().reduce((m, e) => Math.max(m, e.revision), 0),
    error: () => failure,
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

/** Describes the first place where `changes` is out of order or skips a revision in 1..head; '' if none. */
export function orderProblem(changes: readonly SeenEvent[], head: number): string {
  let last = 0;
  for (const e of changes) {
    if (e.revision < last) return `revision ${e.revision} arrived after ${last}`;
    if (e.revision > last + 1) return `revisions ${last + 1}-${e.revision - 1} never arrived`;
    last = e.revision;
  }
  return last === head ? '' : `stream stopped at ${last}, the database is at ${head}`;
}

export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
