/**
 * The CRL's lock between `pinhole certs revoke` / `crl` runs (server/identity/file-lock.ts): one
 * holder at a time, a second waits and then fails naming the lock, and a lock left by a run that
 * crashed (no longer refreshed) is taken over instead of blocking every later run.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { withFileLock } from '../../server/identity/file-lock.js';
import { removeDir, tempDir } from '../helpers/pinhole.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) removeDir(d);
});
const crlPath = (): string => {
  const dir = tempDir('pinhole-lock-');
  dirs.push(dir);
  return join(dir, 'crl.pem');
};

describe('withFileLock', () => {
  it('lets one holder in at a time, in turn', async () => {
    const path = crlPath();
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((name) =>
        withFileLock(path, async () => {
          order.push(`${name}+`);
          await new Promise((r) => setTimeout(r, 30));
          order.push(`${name}-`);
        }),
      ),
    );
    // Never two inside at once: every entry is followed by its own exit.
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]?.replace('+', '-'));
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('fails naming the lock when a live holder keeps it past the wait', async () => {
    const path = crlPath();
    let release!: () => void;
    const holding = withFileLock(path, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 20));
    await expect(withFileLock(path, () => Promise.resolve('never'), { waitMs: 300 })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: `${path}.lock is held by another pinhole certs revoke or crl, which is writing the CRL; try again when it is done`,
    });
    release();
    await holding;
    expect(await withFileLock(path, () => Promise.resolve('after'), { waitMs: 300 })).toBe('after');
  });

  it('takes over a lock a crashed run left behind', async () => {
    const path = crlPath();
    // What a run killed while holding the lock leaves: the directory, no longer refreshed.
    mkdirSync(`${path}.lock`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    expect(await withFileLock(path, () => Promise.resolve('written'), { waitMs: 300 })).toBe('written');
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});
