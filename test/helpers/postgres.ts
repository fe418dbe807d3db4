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

export async function startPostgres(): Promise<TestPostgres> {
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
    const options = `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB`;
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
