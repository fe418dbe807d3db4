/**
 * Child processes of the bench: a `pinhole serve` server (logging to a file, so neither the pipe nor
 * the parent's string building costs the measurement anything) and the small helper programs in
 * bench/children/. Each is tracked by a scope and killed when it closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EXAMPLE_POLICY, REPO } from '../../test/helpers/pinhole.js';
import type { Scope } from './cleanup.js';
import { scriptArgv } from './build.js';
import { sleep } from './stats.js';

/**
 * Quotas raised for the bench: the defaults (200 calls/s and 1,000 live leases per host, 8 lease
 * streams per firewall identity) protect a server from one client, and would otherwise be what
 * the figures measure. The README states the defaults' effect separately.
 */
export const BENCH_LIMITS = {
  requestsPerSecond: 1_000_000,
  burst: 1_000_000,
  maxLiveLeasesPerHost: 10_000_000,
  maxWatchStreamsPerFirewall: 10_000,
} as const;

let starts = 0;

export interface PinholeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly address: string;
  readonly logFile: string;
}

/** Starts `pinhole serve` on 127.0.0.1:0; resolves once it prints its address. */
export async function spawnPinhole(
  scope: Scope,
  o: {
    dataDir: string;
    certDir: string;
    policyFile?: string;
    config?: Record<string, unknown>;
    /** Argv the server runs under, e.g. `['taskset', '-c', '0']` (it must exec the command). */
    wrap?: readonly string[];
  },
): Promise<PinholeProcess> {
  const configFile = join(o.dataDir, 'bench-server.yaml');
  // JSON is YAML; the admin console goes on a free port so two servers never collide.
  writeFileSync(
    configFile,
    JSON.stringify({ admin: { listen: '127.0.0.1:0' }, limits: BENCH_LIMITS, ...o.config }),
  );
  // A log of its own per start: a restarted server must not be found by its predecessor's line.
  const logFile = join(o.dataDir, `server-${++starts}.log`);
  const fd = openSync(logFile, 'a');
  const wrap = o.wrap ?? [];
  const command = wrap[0] ?? process.execPath;
  const prefix = wrap.length > 0 ? [...wrap.slice(1), process.execPath] : [];
  const child = scope.child(
    spawn(
      command,
      [
        ...prefix,
        ...scriptArgv(join(REPO, 'server', 'cli', 'pinhole.ts')),
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--data-dir',
        o.dataDir,
        '--certs',
        o.certDir,
        '--policy',
        o.policyFile ?? EXAMPLE_POLICY,
        '--config',
        configFile,
      ],
      { cwd: REPO, stdio: ['ignore', fd, fd] },
    ),
  );
  closeSync(fd);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /pinhole listening on (\S+)/.exec(readFileSync(logFile, 'utf8'));
    if (m?.[1] !== undefined && child.pid !== undefined)
      return { child, pid: child.pid, address: m[1], logFile };
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`pinhole serve did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    await sleep(50);
  }
}

/** VmRSS and VmHWM (peak) of a process, in MiB, from /proc/PID/status. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** A bench/children/ program speaking line by line on stdin/stdout. */
export interface LineChild {
  readonly child: ChildProcess;
  /** Resolves with the rest of the next line that starts with `prefix` (lines before it are dropped). */
  next(prefix: string, timeoutMs?: number): Promise<string>;
  /** Like `next`, for the first line starting with any of `prefixes`. */
  nextAny(prefixes: readonly string[], timeoutMs?: number): Promise<{ prefix: string; rest: string }>;
  send(line: string): void;
}

export function spawnChild(scope: Scope, script: string, args: readonly string[]): LineChild {
  const child = scope.child(
    spawn(process.execPath, [...scriptArgv(join(REPO, 'bench', 'children', script)), ...args], {
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) w();
  });
  const stdin = child.stdin;
  stdin.on('error', () => undefined);
  const nextAny = (
    prefixes: readonly string[],
    timeoutMs = 30_000,
  ): Promise<{ prefix: string; rest: string }> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        while (lines.length > 0) {
          const line = lines.shift() ?? '';
          const prefix = prefixes.find((p) => line.startsWith(p));
          if (prefix !== undefined) {
            resolve({ prefix, rest: line.slice(prefix.length).trim() });
            return true;
          }
        }
        return false;
      };
      if (check()) return;
      const what = prefixes.map((p) => `"${p}"`).join(' or ');
      const onExit = (): void => {
        cleanup();
        reject(new Error(`${script} exited before printing ${what}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${script}: no ${what} line within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (): void => {
        if (check()) cleanup();
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(waiter);
        child.off('exit', onExit);
      };
      waiters.add(waiter);
      child.once('exit', onExit);
    });
  return {
    child,
    send: (line) => {
      stdin.write(`${line}\n`);
    },
    nextAny,
    next: async (prefix, timeoutMs) => (await nextAny([prefix], timeoutMs)).rest,
  };
}
