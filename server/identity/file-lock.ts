/**
 * An exclusive lock between processes that edit the same file (`pinhole certs revoke` and
 * `pinhole certs crl` on one crl.pem), with proper-lockfile: `<file>.lock` is a directory made
 * atomically by mkdir, its mtime refreshed while held, and taken over once it is older than
 * STALE_MS, so a run that crashed holding it delays the next by seconds instead of blocking it
 * until someone removes the lock by hand. A read-modify-write of the CRL is not safe under
 * write-then-rename alone: two revokes that read the same old list each rename their own new list
 * into place and one revocation is lost. A re-read before the rename narrows that window but
 * cannot close it, so a lock it is.
 */
import lockfile from 'proper-lockfile';
import { PinholeError } from '../core/errors.js';

export interface FileLockOptions {
  /**
   * How long to wait for another holder; default 15 s: longer than STALE_MS, so a lock left by a
   * crashed run is taken over within one wait (signing a CRL takes milliseconds).
   */
  readonly waitMs?: number;
}

/** A lock whose holder stopped refreshing it for this long is taken to be a crashed run's. */
const STALE_MS = 10_000;
const POLL_MS = 50;

/** Runs `work` holding `<path>.lock`; waits for another holder, then fails naming the lock. */
export async function withFileLock<T>(
  path: string,
  work: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const lock = `${path}.lock`;
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, {
      lockfilePath: lock,
      // The CRL may not exist yet: lock its path as given.
      realpath: false,
      stale: STALE_MS,
      retries: {
        retries: Math.ceil((options.waitMs ?? 15_000) / POLL_MS),
        factor: 1,
        minTimeout: POLL_MS,
        maxTimeout: POLL_MS,
      },
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw heldError(lock);
    throw err;
  }
  try {
    const result = await work();
    if (compromised !== undefined) throw compromisedError(lock, compromised);
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}

function heldError(lock: string): PinholeError {
  return new PinholeError(
    'UNAVAILABLE',
    `${lock} is held by another pinhole certs revoke or crl, which is writing the CRL; try again when it is done`,
    { retryAfterMs: 1000 },
  );
}

function compromisedError(lock: string, cause: Error): PinholeError {
  return new PinholeError(
    'UNAVAILABLE',
    `${lock} was taken over while this run held it (${cause.message}); run pinhole certs list to check the CRL, and revoke again if the certificate is missing from it`,
    { cause },
  );
}
