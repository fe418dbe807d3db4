/**
 * Everything the bench starts is released in reverse order by the scope that started it, in a
 * `finally`. As a last resort (an exception escaping, SIGINT/SIGTERM, a figure timing out) the
 * process exit hook kills every tracked child and deletes every tracked namespace synchronously.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const children = new Set<ChildProcess>();
const namespaces = new Set<string>();
const dirs = new Set<string>();
let hooked = false;

function releaseAllSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  namespaces.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', releaseAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      releaseAllSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/** Kills a child (SIGKILL also ends a SIGSTOPped one) and waits for it to exit. */
export function killChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
    child.kill(signal);
  });
}

/** A stack of releases, run newest first by `close()`. */
export class Scope {
  readonly #releases: { readonly what: string; readonly fn: () => Promise<void> | void }[] = [];

  constructor() {
    hook();
  }

  defer(what: string, fn: () => Promise<void> | void): void {
    this.#releases.push({ what, fn });
  }

  child<T extends ChildProcess>(child: T): T {
    children.add(child);
    this.defer(`child ${child.pid ?? '?'}`, () => killChild(child));
    return child;
  }

  namespace(name: string): void {
    namespaces.add(name);
    this.defer(`netns ${name}`, () => {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
      namespaces.delete(name);
    });
  }

  dir(path: string): string {
    dirs.add(path);
    this.defer(`dir ${path}`, () => {
      rmSync(path, { recursive: true, force: true });
      dirs.delete(path);
    });
    return path;
  }

  /** Releases everything; a failing release does not stop the others. */
  async close(): Promise<void> {
    for (const r of this.#releases.splice(0).reverse()) {
      try {
        await r.fn();
      } catch (e) {
        process.stderr.write(`bench: releasing ${r.what} failed: ${String(e)}\n`);
      }
    }
  }
}

/** The scope's lifetime around `fn`. */
export async function withScope<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope();
  try {
    return await fn(scope);
  } finally {
    await scope.close();
  }
}

/** Last-resort release, for the runner's own `finally`. */
export function releaseEverything(): void {
  releaseAllSync();
}
