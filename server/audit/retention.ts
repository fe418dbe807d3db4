/**
 * The running server's side of audit retention (`audit.retentionDays`): every `intervalMs`
 * (the first time `min(intervalMs, 60 s)` after start, so a server restarted more often than
 * the interval still prunes) it removes records older than the retention in batches, each
 * leaving its signed checkpoint (prune.ts). Runs never overlap; a failed run is logged and
 * retried at the next interval. On PostgreSQL every server runs it: the store lets one prune
 * win and the others find nothing left to do.
 */
import type { Logger } from 'pino';
import type { CheckpointSigner } from './checkpoint.js';
import { isPruneRefusal, type PruneRequest, type PruneResult } from './prune.js';

export interface AuditRetentionOptions {
  /** The store's pruneAudit. */
  readonly prune: (request: PruneRequest) => Promise<PruneResult>;
  readonly sign: CheckpointSigner;
  readonly retentionDays: number;
  readonly intervalMs: number;
  readonly log: Logger;
  /** Records removed per transaction (default prune.ts DEFAULT_PRUNE_BATCH). */
  readonly maxRecords?: number;
}

const DAY_MS = 86_400_000;
const FIRST_RUN_MAX_MS = 60_000;
/** Batches per run, so one run over a huge backlog yields to the next interval (it continues there). */
const MAX_BATCHES_PER_RUN = 100;

type State = 'running' | 'closing' | 'closed';

export class AuditRetention {
  readonly #o: AuditRetentionOptions;
  /** Only valid while state is 'running'. */
  #timer: NodeJS.Timeout | undefined;
  #run: Promise<void> | undefined;
  #state: State = 'running';
  #closing: Promise<void> | undefined;

  constructor(o: AuditRetentionOptions) {
    this.#o = o;
    this.#schedule(Math.min(o.intervalMs, FIRST_RUN_MAX_MS));
  }

  #schedule(delayMs: number): void {
    if (this.#state !== 'running') return;
    this.#timer = setTimeout(() => {
      void this.runOnce().finally(() => {
        this.#schedule(this.#o.intervalMs);
      });
    }, delayMs);
    this.#timer.unref();
  }

  /** Prunes what is due now; a call while a run is in progress joins it. Never rejects. */
  runOnce(): Promise<void> {
    if (this.#state !== 'running') return Promise.resolve();
    this.#run ??= this.#prune().finally(() => {
      this.#run = undefined;
    });
    return this.#run;
  }

  async #prune(): Promise<void> {
    const beforeMs = Date.now() - this.#o.retentionDays * DAY_MS;
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_RUN && this.#state === 'running'; batch++) {
        const result = await this.#o.prune({
          beforeMs,
          by: 'server',
          sign: this.#o.sign,
          ...(this.#o.maxRecords === undefined ? {} : { maxRecords: this.#o.maxRecords }),
        });
        if (result.outcome !== 'pruned') {
          if (result.outcome === 'superseded')
            this.#o.log.debug('another server pruned the request log first; nothing to do here');
          return;
        }
        const cp = result.checkpoint;
        this.#o.log.info(
          {
            checkpointSeq: cp.seq,
            pruned: cp.count,
            oldestAtMs: cp.oldestAtMs,
            newestAtMs: cp.newestAtMs,
            retentionDays: this.#o.retentionDays,
          },
          'pruned old request-log records; a signed checkpoint replaces them',
        );
      }
    } catch (err) {
      if (isPruneRefusal(err)) {
        // Not a transient failure: the records to prune do not verify, and every run will refuse
        // again until someone looks. Logged at error so it is not read as routine retrying.
        this.#o.log.error(
          { err },
          `request-log retention refused to prune: the request log does not verify (${err instanceof Error ? err.message : String(err)}). Nothing was pruned; the log needs \`pinhole audit verify\` and an investigation, and each later run refuses again until it verifies`,
        );
        return;
      }
      this.#o.log.warn(
        { err },
        'request-log retention failed; nothing was pruned by the failed step, retrying at the next interval',
      );
    }
  }

  /** Stops the timer and waits for a run in progress (it stops after its current batch). Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      clearTimeout(this.#timer);
      await this.#run;
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
