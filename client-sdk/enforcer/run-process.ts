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

/**
 * Runs `argv` without a shell (no quoting bugs, no injection through lease ids) and collects its output.
 * Rejects only when the program cannot be started; a non-zero exit is reported in the result so each
 * caller decides what a failure means (`conntrack -D` exits 1 when nothing matched, for instance).
 */
export function runProcess(argv: readonly string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('runProcess: empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    timer.unref();
    // Listened to first: a spawn that fails (ENOENT, EMFILE) emits 'error' on the next tick.
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // Out of file descriptors (EMFILE, ENFILE), the child comes without pipes and 'error' follows.
    const pipes = child as Partial<{
      stdin: Writable | null;
      stdout: Readable | null;
      stderr: Readable | null;
    }>;
    if (pipes.stdin == null || pipes.stdout == null || pipes.stderr == null) return;
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // EPIPE when the child exits without reading stdin (a fake nft in tests): the exit code tells the story.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}
