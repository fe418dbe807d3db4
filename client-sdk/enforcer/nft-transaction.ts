/**
 * One `nft -f -` run fed while the script is still being rendered. nft reads its whole input before it
 * parses anything and commits everything it parsed as one netlink transaction (all or nothing), so a
 * script may be written in any chunks: nothing happens in the kernel before stdin ends, and a failure
 * of ours ends it with ABORT_LINE (nothing is committed). If this process dies mid-script, nft sees a
 * clean end of input and parses what it read: the renderer cuts chunks only inside an element list
 * (nft-ruleset.ts), so a death between two writes leaves an open brace and nft commits nothing. Not
 * covered: a write the kernel took only in part that happens to stop right after a command. nft then
 * commits that prefix of the batch: layers (empty sets), deletes without the adds after them (closes
 * more than asked), or a delete pair's first half (`timeout 1s`: an element that was absent opens for
 * at most a second). Timeouts bound all of it and the restarted agent's reconcile completes it.
 *
 * What streaming buys, measured with nftables 1.0.6: nft's start (exec, libraries, netlink socket;
 * about 5 ms through `ip netns exec`) and the copy through the pipe overlap with our rendering. It
 * cannot overlap nft's parsing: nft 1.0.6 reads stdin to its end into one buffer first (strace shows
 * the reads, then the parse).
 */
import { EnforcerError } from './errors.js';
import { startStreamedProcess, type StreamedProcess } from './streamed-process.js';

/**
 * Ends an aborted script: `}` cannot start an nft command, so whatever precedes it (a complete command,
 * or half an element list) the parse fails and nft commits nothing.
 */
export const ABORT_LINE = '\n}}} pinhole: batch aborted before it was complete\n';

/** First lines of nft's stderr, enough to show the offending line and caret without flooding logs. */
export function excerpt(stderr: string): string {
  const text = stderr.trim().split('\n').slice(0, 12).join('\n');
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}

/** An open `nft -f -` transaction: write the script, then `commit()` or `abort()` (exactly one of them). */
export class NftTransaction {
  readonly #argv: readonly string[];
  readonly #process: StreamedProcess;
  #finished = false;

  /** Spawns `command -f -`; the script is written afterwards. */
  constructor(command: readonly string[], timeoutMs: number) {
    this.#argv = [...command, '-f', '-'];
    this.#process = startStreamedProcess(this.#argv, { timeoutMs });
  }

  /** Writes one chunk; waits only when the pipe is full (nft reads far faster than we render). */
  async write(chunk: string): Promise<void> {
    if (chunk !== '' && !this.#process.write(chunk)) await this.#process.drained();
  }

  /** Writes every chunk of `chunks`, in order. A throwing iterator leaves the transaction open: abort it. */
  async writeAll(chunks: Iterable<string>): Promise<void> {
    for (const chunk of chunks) await this.write(chunk);
  }

  /** Ends the script: nft parses and commits it. Throws APPLY_FAILED if nft refused it (nothing applied). */
  async commit(): Promise<void> {
    this.#finish();
    let result;
    try {
      result = await this.#process.end();
    } catch (e) {
      throw new EnforcerError('APPLY_FAILED', `could not run ${this.#argv.join(' ')}: ${String(e)}`, {
        cause: e,
      });
    }
    if (result.code !== 0) {
      const how = result.code === null ? `killed by ${result.signal ?? 'signal'}` : `exit ${result.code}`;
      throw new EnforcerError(
        'APPLY_FAILED',
        `${this.#argv.join(' ')} rejected the batch (${how}); nothing was applied:\n${excerpt(result.stderr)}`,
      );
    }
  }

  /** Makes sure nothing of what was written is applied, and waits for nft to be gone. Never throws. */
  async abort(): Promise<void> {
    if (this.#finished) return;
    this.#finish();
    await this.#process.abort(ABORT_LINE).catch(() => undefined);
  }

  #finish(): void {
    if (this.#finished) throw new Error('NftTransaction: commit() or abort() already called');
    this.#finished = true;
  }
}
