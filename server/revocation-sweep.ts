/**
 * Withdraws what revoked certificates asked for. A reloaded CRL (or a CA taken out of the bundle)
 * already refuses the certificate's handshakes, calls and streams (server/identity); this ends the
 * live leases it opened and denies its waiting requests, so a stolen key's openings close now
 * rather than at the end of their term. Runs at start (a CRL may have changed while the server was
 * down) and after every reload of the TLS material, one pass at a time.
 */
import type { Logger } from 'pino';
import type { RevocationSource } from './identity/tls-runtime.js';
import type { ApprovalDesk } from './lease/approval-desk.js';
import type { LeaseEngine } from './lease/lease-engine.js';

export interface RevocationSweepOptions {
  readonly revocations: RevocationSource;
  readonly engine: Pick<LeaseEngine, 'endOpenedByRefused'>;
  readonly desk: Pick<ApprovalDesk, 'denyOpenedByRefused'>;
  readonly log: Logger;
}

export interface SweepCounts {
  readonly leases: number;
  readonly pending: number;
}

/** How long after a failed pass the next one starts. */
const RETRY_MS = 5_000;

export class RevocationSweep {
  readonly #o: RevocationSweepOptions;
  readonly #unsubscribe: () => void;
  #running: Promise<SweepCounts> = Promise.resolve({ leases: 0, pending: 0 });
  /** A pass is queued behind the running one; later changes join it (it reads the newest material). */
  #queued: Promise<SweepCounts> | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(o: RevocationSweepOptions) {
    this.#o = o;
    this.#unsubscribe = o.revocations.onChange(() => {
      this.#sweepOrRetry();
    });
  }

  /** A pass after a reload; one that fails (the store busy or away) is tried again every RETRY_MS. */
  #sweepOrRetry(): void {
    clearTimeout(this.#retry);
    this.sweep().catch((err: unknown) => {
      if (this.#closed) return;
      this.#o.log.error(
        { err, retryInMs: RETRY_MS },
        'could not end the leases of revoked certificates; trying again',
      );
      this.#retry = setTimeout(() => {
        this.#sweepOrRetry();
      }, RETRY_MS);
      this.#retry.unref();
    });
  }

  /** Runs a pass after the one in progress (at most one waits); resolves with what it ended. */
  sweep(): Promise<SweepCounts> {
    if (this.#closed) return Promise.resolve({ leases: 0, pending: 0 });
    this.#queued ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#pass();
      });
    this.#running = this.#queued;
    return this.#queued;
  }

  async #pass(): Promise<SweepCounts> {
    const leases = await this.#o.engine.endOpenedByRefused();
    const pending = await this.#o.desk.denyOpenedByRefused();
    if (leases + pending > 0)
      this.#o.log.info({ leases, pending }, 'ended what revoked certificates had asked for');
    return { leases, pending };
  }

  /** Stops following reloads and waits for a pass in progress. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#unsubscribe();
    await this.#running.catch(() => undefined);
  }
}
