import { spawnCollected, type ProcessResult } from './run-process.js';

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
  const { stdin, exited, kill } = spawnCollected(file, args, options.timeoutMs ?? 30_000);
  // Without pipes (out of file descriptors) there is nothing to feed; end()/abort() report the error.
  if (stdin === undefined) {
    return { write: () => true, drained: () => Promise.resolve(), end: () => exited, abort: () => exited };
  }
  // EPIPE when the child exits before reading all of stdin, or it could not start: its result tells the story.
  let stdinGone = false;
  const stdinDone = (): void => {
    stdinGone = true;
  };
  exited.catch(stdinDone);
  stdin.on('error', stdinDone);
  stdin.on('close', stdinDone);
  // Never below the stream's own mark: 'drain' is only emitted once a write() has returned false.
  const bufferBytes = Math.max(options.bufferBytes ?? 1024 * 1024, stdin.writableHighWaterMark);
  return {
    write: (chunk) => {
      if (stdinGone) return true;
      stdin.write(chunk);
      return stdin.writableLength <= bufferBytes;
    },
    drained: () =>
      stdinGone || stdin.writableLength === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = (): void => {
              stdin.off('drain', done);
              stdin.off('close', done);
              stdin.off('error', done);
              resolve();
            };
            stdin.on('drain', done);
            stdin.on('close', done);
            stdin.on('error', done);
          }),
    end: () => {
      if (!stdinGone) stdin.end();
      return exited;
    },
    abort: (lastInput) => {
      if (!stdinGone) stdin.end(lastInput);
      kill();
      return exited;
    },
  };
}
