/**
 * Holds rate-limit refusals before they are answered (a tarpit), so that a client which ignores
 * retry-after cannot set the pace of its own refusals.
 *
 * A closed-loop flooder with N calls in flight sends a new call the moment a refusal arrives: an
 * instant refusal lets it send as fast as the server can refuse, and every refusal still costs
 * the server a TLS record, HTTP/2 framing and a status (a few hundred microseconds), paid on the
 * event loop every other host waits on. Holding each refusal `holdMs/2` to `holdMs` caps a
 * flooder at about N / (0.75 holdMs) refusals per second: 64 calls in flight held 250 ms are
 * about 340 refusals/s, however fast its machine is. A well-behaved client loses nothing: it would wait the retry-after anyway.
 *
 * Bounded: at most `maxHeld` refusals are held at once, server-wide; past that a refusal is
 * answered at once (as without a hold), so held calls can never grow memory without bound. A
 * hold never outlives the call: it ends early when the call is cancelled, at half the time left
 * to the call's deadline (the caller then still hears RESOURCE_EXHAUSTED and its retry-after
 * rather than DEADLINE_EXCEEDED), and at close.
 */

export interface RefusalHoldOptions {
  /** How long a refusal is held before it is answered, ms (jittered down to half); 0 answers at once. */
  readonly holdMs: number;
  /** Most refusals held at once, server-wide. */
  readonly maxHeld: number;
}

export class RefusalHold {
  readonly #holdMs: number;
  readonly #maxHeld: number;
  /** Ends each held refusal at once (close). */
  readonly #held = new Set<() => void>();
  #closed = false;

  constructor(o: RefusalHoldOptions) {
    this.#holdMs = o.holdMs;
    this.#maxHeld = o.maxHeld;
  }

  /** Refusals held right now. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Waits before a refusal is answered: `holdMs`, shortened to at most half the time left until
   * `deadlineMs` (epoch ms; Infinity for none) so that the answer still arrives in time on a busy
   * machine, ended early by `signal`. Resolves at once when nothing is to be held, the
   * hold is full or closed. Never rejects.
   */
  hold(deadlineMs: number, signal?: AbortSignal): Promise<void> {
    // Jittered over [holdMs/2, holdMs]: refusals held together would otherwise be answered
    // together, and a flooder's calls would come back as one wave the server refuses in one stall.
    const jittered = this.#holdMs * (0.5 + Math.random() / 2);
    const ms = Math.min(jittered, (deadlineMs - Date.now()) / 2);
    if (this.#closed || ms <= 0 || this.#held.size >= this.#maxHeld || signal?.aborted === true)
      return Promise.resolve();
    return new Promise<void>((resolve) => {
      const end = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', end);
        this.#held.delete(end);
        resolve();
      };
      const timer = setTimeout(end, ms);
      signal?.addEventListener('abort', end, { once: true });
      this.#held.add(end);
    });
  }

  /** Answers every held refusal now; later refusals are not held. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const end of [...this.#held]) end();
  }
}
