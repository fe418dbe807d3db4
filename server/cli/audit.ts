/**
 * `pinhole audit verify`: recomputes the request log's hash chain offline, straight from the
 * SQLite file (server running or not), and checks the newest record against the chain head file
 * kept beside it, so removed, altered, inserted and truncated records are all named. After a
 * prune it starts from the newest signed checkpoint, verified with the server's public JWKS.
 *
 * `pinhole audit prune`: removes records older than a cutoff through the store (SQLite or
 * PostgreSQL, as the server is configured), leaving a checkpoint signed with the server's receipt
 * key. Safe beside running servers: the store serializes it with their commits and prunes.
 */
import { auditRecordFromRow, checkpointFromRow, type AuditRow, type CheckpointRow } from '../audit/row.js';
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { PinholeError, invalid } from '../core/errors.js';
import {
  readChainHead,
  verifyChain,
  type AuditPager,
  type ChainHead,
  type VerifyResult,
} from '../audit/verify.js';
import { checkpointSigner, type AuditCheckpoint } from '../audit/checkpoint.js';
import type { PruneResult } from '../audit/prune.js';
import { parseDuration } from '../policy/durations.js';
import { loadConfig } from '../config/load.js';
import { ReceiptSigner } from '../identity/receipts.js';
import { readJwks } from './read-jwks.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

interface VerifyFlags {
  readonly config?: string;
  readonly dataDir?: string;
  readonly db?: string;
  readonly head?: string;
  readonly jwks?: string;
  readonly quiet: boolean;
}

interface PruneFlags {
  readonly before?: string;
  readonly config?: string;
  readonly dataDir?: string;
  readonly db?: string;
  readonly batch: string;
}

/**
 * Reads pages of raw rows straight from the file (read-only, no store opened); a detail that is
 * no longer JSON is still returned, so the chain check names it as altered.
 */
function rowPager(db: Database.Database): AuditPager {
  const page = db.prepare<[number, number], AuditRow>(
    'SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  return (afterSeq, limit) => Promise.resolve(page.all(afterSeq, limit).map(auditRecordFromRow));
}

/** Every checkpoint in the file; none in a database from before retention existed (schema 1). */
function readCheckpoints(db: Database.Database): AuditCheckpoint[] {
  const table = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'audit_checkpoints'")
    .get();
  if (table === undefined) return [];
  return db
    .prepare<[], CheckpointRow>('SELECT * FROM audit_checkpoints ORDER BY seq')
    .all()
    .map(checkpointFromRow);
}

export interface VerifyFileResult extends VerifyResult {
  /** False when there was no head file, so truncation could not be checked. */
  readonly headChecked: boolean;
}

/**
 * Verifies the log in `dbPath` against `headPath` (default `<db>.audit-head`, as the store writes
 * it) and, if it was pruned, its checkpoints against `jwksPath` (default `receipt-jwks.json`
 * beside the database, as the server writes it).
 */
export async function verifyAuditFile(
  dbPath: string,
  headPath = `${dbPath}.audit-head`,
  onProgress?: (checked: number) => void,
  jwksPath = join(dirname(dbPath), 'receipt-jwks.json'),
): Promise<VerifyFileResult> {
  if (!existsSync(dbPath))
    throw new PinholeError(
      'NOT_FOUND',
      `${dbPath} does not exist; pass --data-dir or --db pointing at the server's database`,
    );
  let db: Database.Database;
  try {
    // Read-only: verifying must never change the evidence, and can run beside a live server (WAL).
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (cause) {
    throw new PinholeError(
      'UNAVAILABLE',
      `${dbPath} cannot be opened read-only: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  }
  try {
    let head: ChainHead | undefined;
    try {
      head = readChainHead(headPath);
    } catch (cause) {
      // A head file that is not JSON was tampered with (or half-written): that is a finding too.
      return {
        ok: false,
        records: 0,
        firstBadSeq: 0,
        problem: `the chain head file ${headPath} is unreadable (${cause instanceof Error ? cause.message : String(cause)})`,
        headChecked: true,
      };
    }
    const checkpoints = readCheckpoints(db);
    const jwks = checkpoints.length > 0 && existsSync(jwksPath) ? readJwks(jwksPath) : undefined;
    const result = await verifyChain(rowPager(db), head, onProgress, {
      checkpoints,
      ...(jwks === undefined ? {} : { jwks }),
      keySource: jwksPath,
    });
    return { ...result, headChecked: head !== undefined };
  } finally {
    db.close();
  }
}

/**
 * Verifies the log of the store a configuration names, through the store's own reads: for
 * PostgreSQL, where no file can be opened read-only (a shared database has no chain head file, so
 * removal of the newest records is not detectable; see the README). A SQLite configuration is
 * verified straight from its file, read-only, as `verifyAuditFile`.
 */
export async function verifyConfiguredStore(
  flags: Pick<VerifyFlags, 'config' | 'dataDir' | 'head' | 'jwks'>,
  onProgress?: (checked: number) => void,
): Promise<VerifyFileResult & { readonly noHead: string }> {
  const config = loadConfig({
    ...(flags.config === undefined ? {} : { file: flags.config }),
    env: process.env,
    flags: { dataDir: ['--data-dir', flags.dataDir] },
  });
  const jwksPath = flags.jwks ?? join(config.dataDir, 'receipt-jwks.json');
  if (config.store.kind === 'sqlite') {
    const path = config.store.path ?? join(config.dataDir, 'pinhole.db');
    const head = flags.head ?? `${path}.audit-head`;
    return {
      ...(await verifyAuditFile(path, head, onProgress, jwksPath)),
      noHead: `no chain head file at ${head}`,
    };
  }
  const store = await openStore(config);
  try {
    const checkpoints = await store.auditCheckpoints();
    const jwks = checkpoints.length > 0 && existsSync(jwksPath) ? readJwks(jwksPath) : undefined;
    const result = await verifyChain(
      (after, limit) => store.auditRecords({ afterSeq: after, limit }),
      undefined,
      onProgress,
      { checkpoints, ...(jwks === undefined ? {} : { jwks }), keySource: jwksPath },
    );
    return { ...result, headChecked: false, noHead: 'a shared PostgreSQL database has no chain head file' };
  } finally {
    await store.close();
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the request log');
  audit
    .command('verify')
    .description('recompute the hash chain of the request log (offline, read-only)')
    .option(
      '-c, --config <file>',
      'server configuration file (as for pinhole serve): verify the store it names, SQLite or PostgreSQL',
    )
    .option('--data-dir <dir>', 'server data directory holding pinhole.db (default data)')
    .option('--db <file>', 'the SQLite database file (instead of --data-dir)')
    .option('--head <file>', 'chain head file (default <db>.audit-head)')
    .option(
      '--jwks <file>',
      "the server's public keys, to verify retention checkpoints (default receipt-jwks.json beside the database)",
    )
    .option('--quiet', 'print only the result line', false)
    .action(async (flags: VerifyFlags) => {
      if (flags.db !== undefined && flags.dataDir !== undefined)
        throw new PinholeError('INVALID_ARGUMENT', '--db and --data-dir: give one of them, not both');
      if (flags.db !== undefined && flags.config !== undefined)
        throw new PinholeError('INVALID_ARGUMENT', '--db and --config: give one of them, not both');
      // Progress goes to stderr so stdout stays the one result line scripts read.
      const progress = (checked: number): void => {
        if (!flags.quiet && checked > 0 && checked % 10_000 === 0)
          process.stderr.write(`verified ${checked} records...\n`);
      };
      let result: VerifyFileResult;
      let noHead: string;
      if (flags.config !== undefined) {
        const checked = await verifyConfiguredStore(flags, progress);
        result = checked;
        noHead = checked.noHead;
      } else {
        const dbPath = flags.db ?? join(flags.dataDir ?? 'data', 'pinhole.db');
        result = await verifyAuditFile(dbPath, flags.head, progress, flags.jwks);
        noHead = `no chain head file at ${flags.head ?? `${dbPath}.audit-head`}`;
      }
      if (!result.headChecked && !flags.quiet) {
        process.stderr.write(`warning: ${noHead}; removal of the newest records cannot be detected\n`);
      }
      if (result.ok) {
        const cp = result.checkpoint;
        console.log(
          cp === undefined
            ? `ok: ${result.records} records`
            : `ok: ${result.records} records, verified from the signed checkpoint at seq ${cp.seq} (${cp.count} records pruned at ${new Date(cp.prunedAtMs).toISOString()} by ${cp.by}; ${cp.prunedTotal} pruned in all)`,
        );
      } else {
        console.log(`FAILED at record ${result.firstBadSeq}: ${result.problem}`);
        process.exitCode = 1;
      }
    });
  audit
    .command('prune')
    .description(
      'remove request-log records older than a cutoff, leaving a checkpoint signed with the server key',
    )
    .requiredOption('--before <time|duration>', 'cutoff: ISO 8601 time, or an age such as 90d or 12h')
    .option('-c, --config <file>', 'server configuration file (as for pinhole serve): which store, dataDir')
    .option('--data-dir <dir>', 'server data directory (the signing key; and pinhole.db for SQLite)')
    .option('--db <file>', 'the SQLite database file (default <data-dir>/pinhole.db)')
    .option('--batch <n>', 'most records removed per transaction, each with its own checkpoint', '50000')
    .action(async (flags: PruneFlags) => {
      const nowMs = Date.now();
      const beforeMs = parseCutoff(flags.before ?? '', nowMs);
      const batch = Number(flags.batch);
      if (!Number.isSafeInteger(batch) || batch < 1 || batch > 10_000_000)
        throw invalid('--batch', `${flags.batch} is not a whole number of records from 1 to 10000000`);
      const { store, dataDir } = await openForPrune(flags);
      try {
        const keyFile = join(dataDir, 'receipt-key.jwk');
        if (!existsSync(keyFile))
          throw new PinholeError(
            'FAILED_PRECONDITION',
            `${keyFile} does not exist: the checkpoint is signed with the server's receipt key; point --data-dir (or dataDir in --config) at the server's data directory`,
          );
        const sign = checkpointSigner(await ReceiptSigner.loadOrCreate(dataDir));
        const by = `cli/${userInfo().username}@${hostname()}`;
        let total = 0;
        let lost = 0;
        for (;;) {
          const result: PruneResult = await store.pruneAudit({
            beforeMs,
            by,
            sign,
            maxRecords: batch,
            nowMs,
          });
          if (result.outcome === 'nothing') break;
          if (result.outcome === 'superseded') {
            // Another pruner (a server's retention, another operator) moved first: plan again from its checkpoint.
            if (++lost >= 5)
              throw new PinholeError(
                'UNAVAILABLE',
                'another prune keeps running at the same time; retry later',
                { retryAfterMs: 1000 },
              );
            continue;
          }
          const cp = result.checkpoint;
          total += cp.count;
          console.log(
            `pruned records ${cp.firstSeq}-${cp.seq} (${cp.count}, ${new Date(cp.oldestAtMs).toISOString()} to ${new Date(cp.newestAtMs).toISOString()}); signed checkpoint at seq ${cp.seq}; recorded as record ${result.record.seq}`,
          );
        }
        console.log(
          total === 0
            ? `nothing to prune: no record older than ${new Date(beforeMs).toISOString()} (or they were pruned already)`
            : `done: ${total} records older than ${new Date(beforeMs).toISOString()} pruned`,
        );
      } finally {
        await store.close();
      }
    });
}

/** `--before`: an ISO 8601 time, or an age (90d, 12h, 1h30m) counted back from now. */
export function parseCutoff(text: string, nowMs: number): number {
  const value = text.trim();
  let ms: number;
  if (/^\d+$/.test(value)) {
    throw invalid(
      '--before',
      `"${value}" has no unit; write an age such as ${value}d or an ISO 8601 time such as 2024-06-10T00:00:00Z`,
    );
  } else if (/^(?:\d+[smhd])+$/.test(value)) {
    const seconds = parseDuration(value);
    if (typeof seconds === 'string') throw invalid('--before', seconds);
    ms = nowMs - seconds * 1000;
  } else {
    ms = Date.parse(value);
    if (Number.isNaN(ms))
      throw invalid(
        '--before',
        `"${value.slice(0, 40)}" is neither a time nor an age; use ISO 8601 (2024-06-10T00:00:00Z) or an age such as 90d, 12h`,
      );
  }
  if (ms > nowMs)
    throw invalid(
      '--before',
      `${new Date(ms).toISOString()} is in the future: it would prune records not yet written; give a past time or an age such as 90d`,
    );
  return ms;
}

/** The store the server uses: --db (SQLite file), else the configuration (file, PINHOLE_*, --data-dir). */
async function openForPrune(flags: PruneFlags): Promise<{ store: Store; dataDir: string }> {
  if (flags.db !== undefined) {
    if (flags.config !== undefined)
      throw new PinholeError('INVALID_ARGUMENT', '--db and --config: give one of them, not both');
    if (!existsSync(flags.db))
      throw new PinholeError(
        'NOT_FOUND',
        `--db: ${flags.db} does not exist; give the server's database file`,
      );
    return { store: SqliteStore.open({ path: flags.db }), dataDir: flags.dataDir ?? dirname(flags.db) };
  }
  const config = loadConfig({
    ...(flags.config === undefined ? {} : { file: flags.config }),
    env: process.env,
    flags: { dataDir: ['--data-dir', flags.dataDir] },
  });
  if (config.store.kind === 'sqlite') {
    const path = config.store.path ?? join(config.dataDir, 'pinhole.db');
    if (!existsSync(path))
      throw new PinholeError(
        'NOT_FOUND',
        `${path} does not exist; pass --data-dir, --db or --config pointing at the server's database`,
      );
  }
  return { store: await openStore(config), dataDir: config.dataDir };
}
