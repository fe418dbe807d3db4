/**
 * Ends leases at their expires_at (and pending requests at the end of their approval window). Kernel element timeouts close openings on their own; the
 * sweeper makes the store, the watch streams and the request log agree with them.
 */
import type { Logger } from 'pino';

export class ExpirySweeper {
  /** Each task ends what is due and returns how many it ended. */
  readonly #tasks: readonly (() => Promise<number>)[];
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(tasks: readonly (() => Promise<number>)[], log: Logger, intervalMs: number) {
    this.#tasks = tasks;
    this.#log = log;
    this.#timer = setInterval(() => {
      void this.sweep();
    }, intervalMs);
    this.#timer.unref();
  }

  /** One sweep now; concurrent calls join the running one. */
  sweep(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#running ??= Promise.all(this.#tasks.map((t) => t()))
      .then((counts) => counts.reduce((a, b) => a + b, 0))
      .then(
        (n) => {
          if (n > 0) this.#log.debug({ expired: n }, 'sweep');
        },
        (err: unknown) => {
          this.#log.warn({ err }, 'expiry sweep failed; retrying at the next interval');
        },
      )
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
