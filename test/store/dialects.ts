/**
 * The stores the conformance suite runs, as kysely's test-setup lists DIALECTS: each gives a
 * fresh, empty location and opens a store on it — again and again, so a test can "reopen".
 */
import { join } from 'node:path';
import type { Store } from '../../server/store/store.js';
import { MemoryDatabase, MemoryStore } from '../../server/store/memory/memory-store.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { SqliteWorkerStore } from '../../server/store/sqlite/sqlite-worker-store.js';
import { PgStore } from '../../server/store/postgres/pg-store.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';

export const DIALECTS = ['memory', 'sqlite', 'sqlite-worker', 'postgres'] as const;
export type DialectName = (typeof DIALECTS)[number];

export interface StoreOptions {
  readonly retainRevisions?: number;
}

/** One empty store location; `open` may be called again after `close` to reopen it. */
export interface Location {
  open(): Promise<Store>;
}

export interface Dialect {
  readonly name: DialectName;
  location(o?: StoreOptions): Promise<Location>;
  /** Stops what the dialect started (a PostgreSQL cluster, temporary directories). */
  teardown(): Promise<void>;
}

export function dialect(name: DialectName): Dialect {
  switch (name) {
    case 'memory':
      return {
        name,
        location: (o = {}) => {
          const database = new MemoryDatabase();
          return Promise.resolve({ open: () => Promise.resolve(MemoryStore.open({ database, ...o })) });
        },
        teardown: () => Promise.resolve(),
      };
    case 'sqlite':
    case 'sqlite-worker': {
      const dirs: string[] = [];
      // The same SqliteStore, on the calling thread or on its worker thread (sqlite-worker-store.ts).
      const openAt = (path: string, o: StoreOptions): Promise<Store> =>
        name === 'sqlite'
          ? Promise.resolve(SqliteStore.open({ path, ...o }))
          : SqliteWorkerStore.open({ path, ...o });
      return {
        name,
        location: (o = {}) => {
          const dir = tempDir();
          dirs.push(dir);
          const path = join(dir, 'pinhole.db');
          return Promise.resolve({ open: () => openAt(path, o) });
        },
        teardown: () => {
          for (const d of dirs.splice(0)) removeDir(d);
          return Promise.resolve();
        },
      };
    }
    case 'postgres': {
      let cluster: Promise<TestPostgres> | undefined;
      return {
        name,
        location: async (o = {}) => {
          cluster ??= startPostgres();
          const url = await (await cluster).createDatabase('conformance');
          return { open: () => PgStore.open({ url, pollMs: 200, ...o }) };
        },
        teardown: async () => {
          if (cluster !== undefined) await (await cluster).close();
        },
      };
    }
  }
}
