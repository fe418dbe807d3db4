/**
 * `pinhole receipt verify --jwks FILE [--host NAME] RECEIPT`: checks a lease receipt offline,
 * as a firewall would, against the server's published key set (data/receipt-jwks.json or
 * GET /.well-known/jwks.json). Exit 0 and a summary when it verifies; exit 1 and why when not.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { isPinholeError } from '../core/errors.js';
import { verifyReceipt } from '../identity/receipts.js';
import { parseTime } from '../admin/http-audit-query.js';
import { readJwks } from './read-jwks.js';

interface VerifyFlags {
  readonly jwks: string;
  readonly host?: string;
  readonly at?: string;
}

/** The token itself, `-` for stdin, or `@FILE`: receipts are long, and shells have history. */
function readToken(arg: string): string {
  const text =
    arg === '-' ? readFileSync(0, 'utf8') : arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg;
  return text.trim();
}

export function registerReceiptCommands(program: Command): void {
  const receipt = program.command('receipt').description('lease receipts (signed, offline-verifiable)');
  receipt
    .command('verify')
    .description('verify a lease receipt against the server key set')
    .argument('<receipt>', 'the compact JWS, - for stdin, or @FILE')
    .requiredOption('--jwks <file>', 'the server key set (data/receipt-jwks.json)')
    .option('--host <name>', 'the host that must hold the lease')
    .option('--at <time>', 'check validity at this time (ISO 8601 or ms), e.g. when a connection was seen')
    .action(async (arg: string, flags: VerifyFlags) => {
      const jwks = readJwks(flags.jwks);
      const token = readToken(arg);
      const nowMs = flags.at === undefined ? undefined : parseTime(flags.at, '--at');
      try {
        const claims = await verifyReceipt(token, jwks, {
          ...(flags.host === undefined ? {} : { host: flags.host }),
          ...(nowMs === undefined ? {} : { nowMs }),
        });
        console.log(
          `ok: lease ${claims.leaseId} of host ${claims.host}, ${claims.rules.length} rule(s), valid until ${new Date(claims.expiresAtMs).toISOString()}`,
        );
        for (const r of claims.rules) {
          const ports = r.portFrom === r.portTo ? `${r.portFrom}` : `${r.portFrom}-${r.portTo}`;
          console.log(`    ${r.protocol}/${ports} from ${r.sourceCidr} to ${r.destination}`);
        }
      } catch (e) {
        // A refused receipt is an answer, not a tool failure: say why on stdout, exit 1.
        if (!isPinholeError(e) || e.code !== 'PERMISSION_DENIED') throw e;
        console.log(`refused: ${e.message}`);
        process.exitCode = 1;
      }
    });
}
