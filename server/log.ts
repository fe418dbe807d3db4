/**
 * The root logger. Keys, receipts and certificates are redacted; peers are logged by fingerprint.
 * Modules take a child (`log.child({ module: 'lease' })`).
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export function createRootLogger(
  level: LevelWithSilent = 'info',
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    level,
    base: { service: 'pinhole' },
    redact: {
      paths: ['*.key', '*.privateKey', '*.receipt', 'lease.receipt', '*.certPem', '*.keyPem'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
