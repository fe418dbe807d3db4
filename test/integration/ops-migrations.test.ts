/**
 * Issue 11: SQLite schema migrations log what they are about to do and how long it took; doctor
 * reads a database without changing it and refuses one written by a newer build.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseConfig } from '../../server/config/load.js';
import { createRootLogger } from '../../server/log.js';
import { openStore } from '../../server/store/open-store.js';
import { openStoreWithProgress, sqliteSchemaVersion } from '../../server/ops/migrations.js';
import { checkStore } from '../../server/ops/doctor/store.js';
import { SQLITE_MIGRATIONS } from '../../server/store/sqlite/schema.js';
import { removeDir, tempDir } from '../helpers/pinhole.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) removeDir(d);
});

function capture(): { log: ReturnType<typeof createRootLogger>; lines: () => Record<string, unknown>[] } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    log: createRootLogger('info', sink),
    lines: () =>
      text
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('SQLite migrations', () => {
  it('logs before and after migrating an older database', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    // A database from before the first migration: the file exists, user_version is 0.
    new Database(join(dataDir, 'pinhole.db')).close();
    const config = parseConfig({ dataDir });
    const { log, lines } = capture();
    const store = await openStoreWithProgress(config, log, openStore);
    await store.close();
    const messages = lines();
    expect(messages[0]).toMatchObject({
      msg: 'migrating the database schema; do not interrupt',
      fromVersion: 0,
      toVersion: SQLITE_MIGRATIONS.length,
    });
    expect(messages[1]).toMatchObject({ msg: 'database schema ready', toVersion: SQLITE_MIGRATIONS.length });
    expect(typeof messages[1]?.ms).toBe('number');
    expect(sqliteSchemaVersion(join(dataDir, 'pinhole.db'))).toBe(SQLITE_MIGRATIONS.length);

    // Up to date: nothing to say.
    const again = capture();
    await (await openStoreWithProgress(config, again.log, openStore)).close();
    expect(again.lines()).toEqual([]);
  });

  it('doctor reports an up-to-date database and refuses one from a newer build, changing neither', async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const config = parseConfig({ dataDir });
    await (await openStoreWithProgress(config, createRootLogger('silent'), openStore)).close();
    const [ok] = await checkStore(config);
    expect(ok).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(/^schema v\d+, revision 0, 0 live lease\(s\), epoch /) as unknown,
    });

    const db = new Database(join(dataDir, 'pinhole.db'));
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    db.close();
    const [newer] = await checkStore(config);
    expect(newer?.status).toBe('fail');
    expect(newer?.message).toBe(
      `schema version ${SQLITE_MIGRATIONS.length + 1} is newer than this build knows (${SQLITE_MIGRATIONS.length})`,
    );
    expect(sqliteSchemaVersion(join(dataDir, 'pinhole.db'))).toBe(SQLITE_MIGRATIONS.length + 1);
  });
});
