import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ProcessResult } from './run-process.js';

/**
 * A child process whose stdin is written while the input is still being produced: the child starts
 * (for nft: exec, dynamic loading, netlink setup) while we render, instead of after. `runProcess`
 * takes its stdin whole; this is for inputs of megabytes produced in chunks.
 */
export interface StreamedProcess {
  /**
   * Queues `chunk` for the child's stdin. False when more than `bufferBytes` wait for the child: then
   * wait for `drained()` before writing more, so a slow reader never makes us hold all the input.
   */
  write(chunk: string): boolean;
  /** Resolves once the queued input has been taken by the pipe, or the child is gone (writes then go nowhere). */
  drained(): Promise<void>;
  /** Closes stdin (the child sees a clean end of its input) and resolves when the child has exited. */
  end(): Promise<ProcessResult>;
  /**
   * Writes `lastInput`, closes stdin and kills the child (SIGKILL), then resolves when it has exited.
   * Killing alone is not enough: a child that is a wrapper (`sh -c '... nft "$@"'`) dies while the
   * program it runs lives on and reads the pipe to its end, so `lastInput` must make a clean end
   * impossible (for nft, a line that cannot parse: the transaction is then refused as a whole).
   */
  abort(lastInput: string): Promise<ProcessResult>;
}

/** Options of `startStreamedProcess`. */
export interface StreamedProcessOptions {
  /** Kill the child (SIGKILL) after this long; default 30 s. */
  readonly timeoutMs?: number;
  /**
   * Input queued beyond what the pipe holds before `write` asks the producer to wait; default 1 MiB.
   * Not the stream's 16 KiB: with it, rendering a 10k-element batch would stop a dozen times to wait
   * for nft to be scheduled and empty the 64 KiB pipe; a megabyte is cheap to hold.
   */
  readonly bufferBytes?: number;
}

/**
 * Spawns `argv` (no shell) with piped stdio and returns the handle that feeds its stdin. Rejects (from
 * `end`/`abort`) only when the program could not be started; an exit code is reported in the result.
 */
export function startStreamedProcess(
  argv: readonly string[],
  options: StreamedProcessOptions = {},
): StreamedProcess {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('startStreamedProcess: empty argv');
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  timer.unref();
  let stdinGone = false;
  // Listened to before anything else: a spawn that fails (ENOENT, EMFILE) emits 'error' on the next tick.
  const exited = new Promise<ProcessResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      stdinGone = true;
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
  // Observed here so a spawn failure is never an unhandled rejection; end()/abort() report it.
  exited.catch(() => undefined);
  // Out of file descriptors (EMFILE, ENFILE), the child comes without pipes and 'error' follows.
  const pipes = child as Partial<{
    stdin: Writable | null;
    stdout: Readable | null;
    stderr: Readable | null;
  }>;
  if (pipes.stdin == null || pipes.stdout == null || pipes.stderr == null) {
    stdinGone = true;
    return { write: () => true, drained: () => Promise.resolve(), end: () => exited, abort: () => exited };
  }
  // Never below the stream's own mark: 'drain' is only emitted once a write() has returned false.
  const bufferBytes = Math.max(options.bufferBytes ?? 1024 * 1024, child.stdin.writableHighWaterMark);
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  // EPIPE when the child exits before reading all of stdin: its exit code tells the story.
  const stdinDone = (): void => {
    stdinGone = true;
  };
  child.stdin.on('error', stdinDone);
  child.stdin.on('close', stdinDone);
  return {
    write: (chunk) => {
      if (stdinGone) return true;
      child.stdin.write(chunk);
      return child.stdin.writableLength <= bufferBytes;
    },
    drained: () =>
      stdinGone || child.stdin.writableLength === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = (): void => {
              child.stdin.off('drain', done);
              child.stdin.off('close', done);
              child.stdin.off('error', done);
              resolve();
            };
            child.stdin.on('drain', done);
            child.stdin.on('close', done);
            child.stdin.on('error', done);
          }),
    end: () => {
      if (!stdinGone) child.stdin.end();
      return exited;
    },
    abort: (lastInput) => {
      if (!stdinGone) child.stdin.end(lastInput);
      child.kill('SIGKILL');
      return exited;
    },
  };
}
