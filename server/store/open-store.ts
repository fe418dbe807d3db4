/**
 * Opens the store a configuration names: SQLite (the embedded default, on the event-loop thread
 * unless `store.thread: worker`) or PostgreSQL.
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Config } from '../config/schema.js';
import { PgStore } from './postgres/pg-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { SqliteWorkerStore } from './sqlite/sqlite-worker-store.js';
import type { Store } from './store.js';

export function openStore(config: Config, log?: Logger): Store | Promise<Store> {
  switch (config.store.kind) {
    case 'sqlite': {
      const options = {
        path: config.store.path ?? join(config.dataDir, 'pinhole.db'),
        retainRevisions: config.store.retainRevisions,
      };
      // On a worker thread when asked: SQLite's work and fsync waits leave the event loop.
      return config.store.thread === 'worker'
        ? SqliteWorkerStore.open({ ...options, ...(log === undefined ? {} : { log }) })
        : SqliteStore.open(options);
    }
    case 'postgres':
      // Connects, migrates under an advisory lock, and starts the cross-server commit feed.
      return PgStore.open({
        url: config.store.url,
        poolSize: config.store.poolSize,
        retainRevisions: config.store.retainRevisions,
        ...(log === undefined ? {} : { log }),
      });
  }
}
