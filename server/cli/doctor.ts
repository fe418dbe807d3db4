/**
 * `pinhole doctor`: checks what a working installation needs (certificates, store, policy, nftables
 * and kernel support, clock skew against the server), prints each finding with its fix, and exits 1
 * if anything failed. Reads the same configuration as `pinhole serve` (file, PINHOLE_* environment,
 * the same flags), so it checks what the server would use.
 */
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { runDoctor } from '../ops/doctor/run.js';
import { CHECK_NAMES, formatFindings, type CheckName } from '../ops/doctor/types.js';
import { invalid } from '../core/errors.js';

interface DoctorFlags {
  config?: string;
  dataDir?: string;
  policy?: string;
  certs?: string;
  identity: string[];
  nft?: string;
  skipKernel?: boolean;
  serverAdmin?: string;
  client?: string;
  maxSkewMs: string;
  skip: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [
  ...previous,
  ...value.split(',').filter((v) => v !== ''),
];

function parseSkip(values: readonly string[]): CheckName[] {
  return values.map((v) => {
    if (!(CHECK_NAMES as readonly string[]).includes(v))
      throw invalid('--skip', `${JSON.stringify(v)} is not a check; use ${CHECK_NAMES.join(', ')}`);
    return v as CheckName;
  });
}

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'check certificates, store, policy, nftables/kernel support and clock skew; print what to fix (exit 1 on any failure)',
    )
    .option('-c, --config <file>', 'server configuration file (as for pinhole serve)')
    .option('--data-dir <dir>', 'data directory (as for pinhole serve)')
    .option('--policy <file>', 'policy file (as for pinhole serve)')
    .option('--certs <dir>', 'certificate directory (as for pinhole serve)')
    .option(
      '--identity <base>',
      'certificate to check, e.g. firewall-gw-1 (repeatable; default every *.crt in --certs)',
      collect,
      [],
    )
    .option('--nft <path>', 'nft binary to check (default: nft in PATH)')
    .option('--skip-kernel', 'do not test kernel support in a scratch network namespace (needs root)')
    .option(
      '--server-admin <host:port>',
      "server's admin listener to compare clocks with (default admin.listen)",
    )
    .option(
      '--client <base>',
      'client certificate for the clock check (default server, else the first with a key)',
    )
    .option('--max-skew-ms <ms>', 'largest clock skew accepted', '2000')
    .option('--skip <checks>', `checks to leave out, comma-separated: ${CHECK_NAMES.join(', ')}`, collect, [])
    .option('--json', 'print the findings as JSON')
    .action(async (flags: DoctorFlags) => {
      const config = loadConfig({
        ...(flags.config === undefined ? {} : { file: flags.config }),
        env: process.env,
        flags: {
          dataDir: ['--data-dir', flags.dataDir],
          'policy.file': ['--policy', flags.policy],
          'certs.dir': ['--certs', flags.certs],
        },
      });
      const maxSkewMs = Number(flags.maxSkewMs);
      if (!Number.isInteger(maxSkewMs) || maxSkewMs < 0)
        throw invalid('--max-skew-ms', `${flags.maxSkewMs} is not a whole number of milliseconds`);
      const findings = await runDoctor({
        config,
        skip: parseSkip(flags.skip),
        ...(flags.identity.length > 0 ? { identities: flags.identity } : {}),
        ...(flags.nft === undefined ? {} : { nft: flags.nft }),
        ...(flags.skipKernel === true ? { skipKernel: true } : {}),
        ...(flags.serverAdmin === undefined ? {} : { serverAdmin: flags.serverAdmin }),
        ...(flags.client === undefined ? {} : { clockIdentity: flags.client }),
        maxSkewMs,
      });
      if (flags.json === true) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
      else for (const line of formatFindings(findings)) process.stdout.write(`${line}\n`);
      process.exitCode = findings.some((f) => f.status === 'fail') ? 1 : 0;
    });
}
