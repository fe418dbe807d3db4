/**
 * Store and policy checks. SQLite is opened read-only (the server may be running; doctor must not
 * create or migrate a database); PostgreSQL gets one connection and `SELECT 1`. The policy file is
 * validated as `pinhole policy check` does.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { Config } from '../../config/schema.js';
import { loadPolicyFile } from '../../policy/loader.js';
import { formatDiagnostic } from '../../policy/diagnostics.js';
import { SQLITE_MIGRATIONS } from '../../store/sqlite/schema.js';
import { sqlitePath } from '../migrations.js';
import { errorText, finding, type Finding } from './types.js';

function nearestExistingDir(path: string): string {
  let dir = dirname(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

function checkSqlite(path: string): Finding {
  if (!existsSync(path)) {
    const dir = nearestExistingDir(path);
    try {
      accessSync(dir, constants.W_OK);
      return finding('store', 'ok', path, `no database yet; it will be created at first start (in ${dir})`);
    } catch {
      return finding(
        'store',
        'fail',
        path,
        `no database, and ${dir} is not writable for this user`,
        `create the data directory and give the server's user write access (e.g. systemd StateDirectory=pinhole)`,
      );
    }
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 2000');
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok')
      return finding(
        'store',
        'fail',
        path,
        `integrity check failed: ${String(check)}`,
        'restore the database from a backup; keep the broken file for analysis',
      );
    const version = Number(db.pragma('user_version', { simple: true }));
    const latest = SQLITE_MIGRATIONS.length;
    if (version > latest) {
      return finding(
        'store',
        'fail',
        path,
        `schema version ${version} is newer than this build knows (${latest})`,
        'run the pinhole version that wrote this database, or upgrade',
      );
    }
    const meta = new Map(
      db
        .prepare<[], { key: string; value: string }>('SELECT key, value FROM meta')
        .all()
        .map((r) => [r.key, r.value]),
    );
    const live =
      db.prepare<[], { n: number }>('SELECT count(*) AS n FROM leases WHERE live = 1').get()?.n ?? 0;
    const summary = `schema v${version}, revision ${meta.get('revision') ?? '0'}, ${live} live lease(s), epoch ${meta.get('epoch') ?? '?'}`;
    if (version < latest)
      return finding(
        'store',
        'warn',
        path,
        `${summary}; will migrate to v${latest} at the next start`,
        'back up the database before upgrading; the migration runs once, logged',
      );
    return finding('store', 'ok', path, summary);
  } catch (e) {
    return finding(
      'store',
      'fail',
      path,
      `cannot be opened: ${errorText(e)}`,
      'check the path (store.path / --data-dir) and that this user may read it',
    );
  } finally {
    db?.close();
  }
}

async function checkPostgres(url: string): Promise<Finding> {
  const safe = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000, query_timeout: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return finding('store', 'ok', safe, 'connected; SELECT 1 answered');
  } catch (e) {
    return finding(
      'store',
      'fail',
      safe,
      `cannot connect: ${errorText(e)}`,
      'check store.url (PINHOLE_STORE_URL), that the database is reachable from here, and the credentials',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkStore(config: Config): Promise<Finding[]> {
  const path = sqlitePath(config);
  if (path !== undefined) return [checkSqlite(path)];
  if (config.store.kind === 'postgres') return [await checkPostgres(config.store.url)];
  return [];
}

export async function checkPolicy(file: string): Promise<Finding[]> {
  const loaded = await loadPolicyFile(file);
  if (!loaded.ok) {
    const shown = loaded.errors.slice(0, 5).map(formatDiagnostic);
    const more =
      loaded.errors.length > shown.length ? `\n  ... and ${loaded.errors.length - shown.length} more` : '';
    return [
      finding(
        'policy',
        'fail',
        file,
        `${loaded.errors.length} error(s):\n  ${shown.join('\n  ')}${more}`,
        `fix them: pinhole policy check ${file}`,
      ),
    ];
  }
  const p = loaded.policy;
  const summary = `${p.rules.length} rules, ${p.groups.size} groups, ${p.enforcers.size} enforcers`;
  if (loaded.warnings.length > 0)
    return [
      finding(
        'policy',
        'warn',
        file,
        `${summary}; ${loaded.warnings.length} warning(s)`,
        `see pinhole policy check ${file}`,
      ),
    ];
  return [finding('policy', 'ok', file, summary)];
}
