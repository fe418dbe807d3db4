/**
 * Network-namespace test lab: namespaces, veth pairs, addresses (198.18.0.0/15 and 2001:2::/48 only),
 * a TCP echo listener and TCP probes run inside namespaces. Every namespace is registered globally and
 * deleted by `cleanup()` and, as a last resort, on process exit or SIGINT/SIGTERM, so a failing test
 * leaves nothing behind; namespaces of dead processes are swept. Names: `ph-<pid>-<n>-<role>`.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { runProcess, type ProcessResult } from '../../client-sdk/enforcer/run-process.js';

const created = new Set<string>();
let seq = 0;
let exitHook = false;

function deleteCreated(): void {
  for (const ns of created) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  created.clear();
}

/**
 * Deletes `ph-<pid>-<n>-<role>` namespaces whose process is gone: a run killed by a signal (a worker
 * terminated on timeout) never reaches its cleanup, so the next run sweeps what it left.
 */
function sweepStale(): void {
  let listing = '';
  try {
    listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of listing.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^ph-(\d+)-\d+-/.exec(name);
    if (m === null || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // alive: not ours to touch
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') continue;
    }
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // raced with another sweeper
    }
  }
}

function registerExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  sweepStale();
  process.on('exit', deleteCreated);
  // 'exit' does not run when a signal kills the process: clean up, then die of the same signal.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      deleteCreated();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Runs argv and throws with stderr when it exits non-zero. */
export async function must(argv: readonly string[], stdin?: string): Promise<ProcessResult> {
  const r = await runProcess(argv, stdin === undefined ? {} : { stdin });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r;
}

const SERVER = `
const net = require('net');
const server = net.createServer((c) => { c.on('data', (d) => c.write(d)); c.on('error', () => {}); });
server.listen({ port: Number(process.argv[1]), host: '::' }, () => console.log('listening'));
`;

const PROBE = `
const net = require('net');
const [host, port, localAddress, timeoutMs] = process.argv.slice(1);
const opts = { host, port: Number(port) };
if (localAddress) opts.localAddress = localAddress;
const s = net.connect(opts);
setTimeout(() => { console.log('timeout'); process.exit(2); }, Number(timeoutMs));
s.on('connect', () => { console.log('connected'); process.exit(0); });
s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
`;

const HOLD = `
const net = require('net');
const [host, port, localAddress] = process.argv.slice(1);
const opts = { host, port: Number(port) };
if (localAddress) opts.localAddress = localAddress;
const s = net.connect(opts);
s.on('connect', () => console.log('connected'));
s.on('data', (d) => console.log('data ' + d.toString().trim()));
s.on('error', (e) => console.log('error ' + e.code));
s.on('close', () => { console.log('closed'); process.exit(0); });
require('readline').createInterface({ input: process.stdin }).on('line', (l) => s.write(l + '\\n'));
`;

/** A TCP connection held open from inside a namespace. */
export interface HeldConnection {
  /** Sends `text` and resolves whether the echo came back within `timeoutMs`. */
  echo(text: string, timeoutMs?: number): Promise<boolean>;
  close(): void;
}

/** Options of the probes. */
export interface ConnectOptions {
  localAddress?: string;
  timeoutMs?: number;
}

/** One lab per test file. */
export class NetnsLab {
  readonly #namespaces: string[] = [];
  readonly #children = new Set<ChildProcessWithoutNullStreams>();

  /** Creates a namespace with `lo` up; `role` is a short tag in its name. */
  async namespace(role: string): Promise<string> {
    registerExitHook();
    const name = `ph-${process.pid}-${++seq}-${role}`;
    await must(['ip', 'netns', 'add', name]);
    created.add(name);
    this.#namespaces.push(name);
    await must(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
    // No duplicate address detection on new links: addresses are usable at once, not ~2 s later.
    await must(['ip', 'netns', 'exec', name, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
    return name;
  }

  /** A veth pair between two namespaces with the given addresses (CIDR notation), both ends up. */
  async link(
    a: { ns: string; addrs: string[] },
    b: { ns: string; addrs: string[] },
  ): Promise<{ ifA: string; ifB: string }> {
    const n = ++seq;
    const ifA = `p${process.pid % 100000}x${n}a`;
    const ifB = `p${process.pid % 100000}x${n}b`;
    await must(['ip', 'link', 'add', ifA, 'netns', a.ns, 'type', 'veth', 'peer', 'name', ifB, 'netns', b.ns]);
    for (const [ns, dev, addrs] of [
      [a.ns, ifA, a.addrs],
      [b.ns, ifB, b.addrs],
    ] as const) {
      for (const addr of addrs) {
        // nodad: an IPv6 address is usable at once instead of after duplicate address detection.
        await must([
          'ip',
          '-n',
          ns,
          'addr',
          'add',
          addr,
          'dev',
          dev,
          ...(addr.includes(':') ? ['nodad'] : []),
        ]);
      }
      await must(['ip', '-n', ns, 'link', 'set', dev, 'up']);
    }
    // IPv6 on a new link ignores neighbour solicitations until the kernel marks the link ready (up to ~1 s
    // later); its link-local address appears at that moment, so wait for it on both ends.
    const v6 = [...a.addrs, ...b.addrs].some((addr) => addr.includes(':'));
    const ends = [
      [a.ns, ifA],
      [b.ns, ifB],
    ] as const;
    for (const [ns, dev] of v6 ? ends : []) {
      const deadline = Date.now() + 5000;
      while (
        (await must(['ip', '-n', ns, '-6', 'addr', 'show', 'dev', dev, 'scope', 'link'])).stdout.trim() === ''
      ) {
        if (Date.now() > deadline) throw new Error(`link: ${dev} in ${ns} got no IPv6 link-local address`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return { ifA, ifB };
  }

  /** Runs argv inside `ns` (does not throw on a non-zero exit). */
  exec(ns: string, argv: readonly string[], stdin?: string): Promise<ProcessResult> {
    return runProcess(['ip', 'netns', 'exec', ns, ...argv], stdin === undefined ? {} : { stdin });
  }

  /** Runs argv inside `ns`; throws on a non-zero exit. */
  async must(ns: string, argv: readonly string[], stdin?: string): Promise<ProcessResult> {
    return must(['ip', 'netns', 'exec', ns, ...argv], stdin);
  }

  #spawn(ns: string, script: string, args: string[]): ChildProcessWithoutNullStreams {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], {
      stdio: 'pipe',
    });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    return child;
  }

  /** Starts a TCP echo server on `port` (all addresses, v4 and v6) inside `ns`. */
  async listen(ns: string, port: number): Promise<void> {
    const child = this.#spawn(ns, SERVER, [String(port)]);
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => {
        resolve();
      });
      child.once('exit', (code) => {
        reject(new Error(`listener in ${ns} exited (${String(code)})`));
      });
    });
  }

  /** Tries one TCP connect from inside `ns`; true when it completed within the timeout. */
  async canConnect(ns: string, host: string, port: number, opts: ConnectOptions = {}): Promise<boolean> {
    const r = await this.exec(ns, [
      process.execPath,
      '-e',
      PROBE,
      host,
      String(port),
      opts.localAddress ?? '',
      String(opts.timeoutMs ?? 800),
    ]);
    return r.code === 0;
  }

  /** Opens a connection from inside `ns` and keeps it; rejects if it does not connect within 2 s. */
  async hold(ns: string, host: string, port: number, opts: ConnectOptions = {}): Promise<HeldConnection> {
    const child = this.#spawn(ns, HOLD, [host, String(port), opts.localAddress ?? '']);
    const lines = createInterface({ input: child.stdout });
    const waiters = new Set<(line: string) => void>();
    lines.on('line', (line) => {
      for (const w of waiters) w(line);
    });
    const waitFor = (pred: (line: string) => boolean, timeoutMs: number): Promise<boolean> =>
      new Promise((resolve) => {
        const w = (line: string): void => {
          if (!pred(line)) return;
          waiters.delete(w);
          clearTimeout(t);
          resolve(true);
        };
        const t = setTimeout(() => {
          waiters.delete(w);
          resolve(false);
        }, timeoutMs);
        waiters.add(w);
      });
    if (!(await waitFor((l) => l === 'connected', 2000))) {
      child.kill('SIGKILL');
      throw new Error(`hold: no connection to ${host}:${port} from ${ns}`);
    }
    return {
      echo: (text, timeoutMs = 1000) => {
        const got = waitFor((l) => l === `data ${text}`, timeoutMs);
        child.stdin.write(`${text}\n`);
        return got;
      },
      close: () => child.kill('SIGKILL'),
    };
  }

  /** Kills every process started here and deletes every namespace created here. */
  async cleanup(): Promise<void> {
    for (const child of this.#children) child.kill('SIGKILL');
    this.#children.clear();
    for (const ns of this.#namespaces.splice(0)) {
      await runProcess(['ip', 'netns', 'del', ns]);
      created.delete(ns);
    }
  }
}
