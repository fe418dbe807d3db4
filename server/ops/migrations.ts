/**
 * Progress for SQLite schema migrations: the store migrates inside `SqliteStore.open`, one
 * transaction per step; this reads the database's schema version first (read-only) so the log says
 * what is about to happen and, afterwards, how long it took. A large database can take a while on
 * a step that rewrites a table; an operator watching the log should know the server is not stuck.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../log.js';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { SQLITE_MIGRATIONS } from '../store/sqlite/schema.js';

/** The SQLite file a configuration uses, or undefined for another backend. */
export function sqlitePath(config: Config): string | undefined {
  return config.store.kind === 'sqlite'
    ? (config.store.path ?? join(config.dataDir, 'pinhole.db'))
    : undefined;
}

/** The schema version of an existing database (PRAGMA user_version); undefined if there is no file. */
export function sqliteSchemaVersion(path: string): number | undefined {
  if (!existsSync(path)) return undefined;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return Number(db.pragma('user_version', { simple: true }));
  } finally {
    db.close();
  }
}

/** Opens the store, logging before and after any schema migration it performs. */
export async function openStoreWithProgress(
  config: Config,
  log: Logger,
  open: (config: Config) => Store | Promise<Store>,
): Promise<Store> {
  const path = sqlitePath(config);
  let from: number | undefined;
  try {
    from = path === undefined ? undefined : sqliteSchemaVersion(path);
  } catch {
    from = undefined; // unreadable: SqliteStore.open reports it properly
  }
  const to = SQLITE_MIGRATIONS.length;
  const migrating = path !== undefined && (from ?? 0) < to;
  if (migrating) {
    log.info(
      { path, fromVersion: from ?? 0, toVersion: to, steps: to - (from ?? 0) },
      from === undefined ? 'creating the database' : 'migrating the database schema; do not interrupt',
    );
  }
  const started = performance.now();
  const store = await open(config);
  if (migrating)
    log.info({ path, toVersion: to, ms: Math.round(performance.now() - started) }, 'database schema ready');
  return store;
}
