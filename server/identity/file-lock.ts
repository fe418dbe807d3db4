/**
 * An exclusive lock between processes that edit the same file (`pinhole certs revoke` and
 * `pinhole certs crl` on one crl.pem): `<file>.lock` created with O_EXCL, holding the owner's pid,
 * removed when done. A read-modify-write of the CRL is not safe under write-then-rename alone: two
 * revokes that read the same old list each rename their own new list into place and one revocation
 * is lost. A re-read before the rename narrows that window but cannot close it, so a lock it is.
 */
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { PinholeError } from '../core/errors.js';

export interface FileLockOptions {
  /** How long to wait for another holder; default 10 s (signing a CRL takes milliseconds). */
  readonly waitMs?: number;
}

const POLL_MS = 25;

/** Runs `work` holding `<path>.lock`; waits for another holder, then fails naming the lock file. */
export async function withFileLock<T>(
  path: string,
  work: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() >= deadline) throw heldError(lock);
      await sleep(POLL_MS);
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function heldError(lock: string): PinholeError {
  let owner = '';
  try {
    owner = fs.readFileSync(lock, 'utf8').trim();
  } catch {
    // Released just now: the message below still holds.
  }
  const pid = Number(owner);
  const alive = Number.isInteger(pid) && pid > 0 && processAlive(pid);
  const who =
    owner === ''
      ? 'another process'
      : alive
        ? `process ${pid}`
        : `process ${owner}, which is no longer running (remove the lock file)`;
  return new PinholeError(
    'UNAVAILABLE',
    `${lock} is held by ${who}; another pinhole certs revoke or crl is writing the CRL. Try again when it is done`,
    { retryAfterMs: 1000 },
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
