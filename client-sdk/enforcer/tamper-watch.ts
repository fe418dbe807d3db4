/**
 * The tamper watch loop, kept apart from what it checks. Ticks never overlap (the next one is scheduled
 * when the previous finished, so a slow `nft` cannot pile up processes) and timers are unref'd so a
 * forgotten watch never holds the process open.
 */
import type { ReconcileReport } from './types.js';

/** Options of `NftEnforcer.watchTamper`. */
export interface WatchTamperOptions {
  /** Period of the cheap structure probe; default 250 ms, so a flushed table is back within a second. */
  readonly intervalMs?: number;
  /** Upper bound between full element checks; default 30 s (they run more often when they are cheap). */
  readonly maxFullCheckIntervalMs?: number;
  /** Called after a tampered table was repaired. */
  readonly onTamper: (report: ReconcileReport) => void;
}

/** A running tamper watch. */
export interface TamperWatch {
  /** Stops the loop; idempotent. A tick already running completes. */
  stop(): void;
}

/** Runs `tick` every `intervalMs` (measured from the end of the previous tick) until stopped. */
export function startLoop(intervalMs: number, tick: () => Promise<void>): TamperWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = async (): Promise<void> => {
    try {
      await tick();
    } finally {
      if (!stopped) timer = setTimeout(() => void run(), intervalMs).unref();
    }
  };
  timer = setTimeout(() => void run(), intervalMs).unref();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
