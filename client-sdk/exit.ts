/**
 * `releaseOnExit`: on SIGINT or SIGTERM, release every lease, then let the signal do what it would
 * have done. Once a listener exists Node no longer exits on the signal, so after closing the
 * handler re-raises it — unless the application has its own listener, which then owns the exit.
 */
import type { ClientLogger } from './types.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** Installs the handlers; returns a function that removes them (called by `client.close()`). */
export function releaseOnSignals(close: () => Promise<void>, log: ClientLogger): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    uninstall();
    log.info({ signal }, 'releasing leases before exit');
    void close().finally(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  const uninstall = (): void => {
    for (const s of SIGNALS) process.removeListener(s, handler);
  };
  for (const s of SIGNALS) process.on(s, handler);
  return uninstall;
}
