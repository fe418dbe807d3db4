import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

/** What a finished child process produced. */
export interface ProcessResult {
  /** Exit code, or null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of `runProcess`. */
export interface RunProcessOptions {
  /** Written to the child's stdin, which is then closed. Without it stdin is closed at once. */
  stdin?: string;
  /** Kill the child (SIGKILL) after this long; default 30 s. A hung `nft` must not wedge the agent. */
  timeoutMs?: number;
}

/** A child spawned with piped stdio whose output is being collected (spawnCollected). */
export interface CollectedChild {
  /** Its stdin; undefined when the spawn got no pipes (out of file descriptors): `exited` then rejects. */
  readonly stdin: Writable | undefined;
  /**
   * What it produced, once it has exited. Rejects only when the program could not be started; observed
   * here, so that rejection is never unhandled.
   */
  readonly exited: Promise<ProcessResult>;
  /** SIGKILL. */
  readonly kill: () => void;
}

/**
 * Spawns `file` without a shell (no quoting bugs, no injection through lease ids), collects stdout and
 * stderr, and kills it after `timeoutMs`: the one spawn behind runProcess and startStreamedProcess.
 */
export function spawnCollected(file: string, args: readonly string[], timeoutMs: number): CollectedChild {
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  timer.unref();
  // Listened to first: a spawn that fails (ENOENT, EMFILE) emits 'error' on the next tick.
  const exited = new Promise<ProcessResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  exited.catch(() => undefined);
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  // Out of file descriptors (EMFILE, ENFILE), the child comes without pipes and 'error' follows.
  const pipes = child as Partial<{
    stdin: Writable | null;
    stdout: Readable | null;
    stderr: Readable | null;
  }>;
  if (pipes.stdin == null || pipes.stdout == null || pipes.stderr == null)
    return { stdin: undefined, exited, kill };
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  return { stdin: child.stdin, exited, kill };
}

/**
 * Runs `argv` without a shell and collects its output. Rejects only when the program cannot be
 * started; a non-zero exit is reported in the result so each caller decides what a failure means
 * (`conntrack -D` exits 1 when nothing matched, for instance).
 */
export function runProcess(argv: readonly string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runProcess: empty argv'));
  const child = spawnCollected(file, args, options.timeoutMs ?? 30_000);
  if (child.stdin !== undefined) {
    // EPIPE when the child exits without reading stdin (a fake nft in tests): the exit code tells the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  }
  return child.exited;
}
