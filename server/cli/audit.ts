/**
 * `pinhole audit verify`: recomputes the request log's hash chain offline, straight from the
 * SQLite file (server running or not), and checks the newest record against the chain head file
 * kept beside it, so removed, altered, inserted and truncated records are all named.
 */
import { auditRecordFromRow, type AuditRow } from '../audit/row.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { PinholeError } from '../core/errors.js';
import {
  readChainHead,
  verifyChain,
  type AuditPager,
  type ChainHead,
  type VerifyResult,
} from '../audit/verify.js';

interface VerifyFlags {
  readonly dataDir?: string;
  readonly db?: string;
  readonly head?: string;
  readonly quiet: boolean;
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

export interface VerifyFileResult extends VerifyResult {
  /** False when there was no head file, so truncation could not be checked. */
  readonly headChecked: boolean;
}

/** Verifies the log in `dbPath` against `headPath` (default `<db>.audit-head`, as the store writes it). */
export async function verifyAuditFile(
  dbPath: string,
  headPath = `${dbPath}.audit-head`,
  onProgress?: (checked: number) => void,
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
    const result = await verifyChain(rowPager(db), head, onProgress);
    return { ...result, headChecked: head !== undefined };
  } finally {
    db.close();
  }
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the request log');
  audit
    .command('verify')
    .description('recompute the hash chain of the request log (offline, read-only)')
    .option('--data-dir <dir>', 'server data directory holding pinhole.db (default data)')
    .option('--db <file>', 'the SQLite database file (instead of --data-dir)')
    .option('--head <file>', 'chain head file (default <db>.audit-head)')
    .option('--quiet', 'print only the result line', false)
    .action(async (flags: VerifyFlags) => {
      if (flags.db !== undefined && flags.dataDir !== undefined)
        throw new PinholeError('INVALID_ARGUMENT', '--db and --data-dir: give one of them, not both');
      const dbPath = flags.db ?? join(flags.dataDir ?? 'data', 'pinhole.db');
      // Progress goes to stderr so stdout stays the one result line scripts read.
      const progress = (checked: number): void => {
        if (!flags.quiet && checked > 0 && checked % 10_000 === 0)
          process.stderr.write(`verified ${checked} records...\n`);
      };
      const result = await verifyAuditFile(dbPath, flags.head, progress);
      if (!result.headChecked && !flags.quiet) {
        process.stderr.write(
          `warning: no chain head file at ${flags.head ?? `${dbPath}.audit-head`}; removal of the newest records cannot be detected\n`,
        );
      }
      if (result.ok) {
        console.log(`ok: ${result.records} records`);
      } else {
        console.log(`FAILED at record ${result.firstBadSeq}: ${result.problem}`);
        process.exitCode = 1;
      }
    });
}
