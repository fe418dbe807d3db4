#!/usr/bin/env node
/** The `pinhole` command: server, PKI, policy and client tools in one binary. */
import { Command, CommanderError } from 'commander';
import { isPinholeError } from '../core/errors.js';
type Register = (program: Command) => void;

/**
 * Each top-level command with the module that registers it, in help order. Only the module of the
 * command being run is loaded: `pinhole certs list` or `pinhole audit verify` need not load
 * grpc-js, PostgreSQL and the rest of the server (about half of a CLI call's start-up).
 */
const COMMANDS: readonly (readonly [names: readonly string[], load: () => Promise<Register>])[] = [
  [['serve'], async () => (await import('./serve.js')).registerServeCommand],
  [['certs'], async () => (await import('./certs.js')).registerCertsCommands],
  [['policy'], async () => (await import('./policy.js')).registerPolicyCommands],
  [['admin'], async () => (await import('./admin.js')).registerAdminCommands],
  [['audit'], async () => (await import('./audit.js')).registerAuditCommands],
  [['receipt'], async () => (await import('./receipt.js')).registerReceiptCommands],
  [['config'], async () => (await import('./config.js')).registerConfigCommands],
  [['doctor'], async () => (await import('./doctor.js')).registerDoctorCommand],
  [['agent'], async () => (await import('../../client-sdk/cli/agent.js')).registerAgentCommand],
  [['open', 'leases'], async () => (await import('../../client-sdk/cli/open.js')).registerOpenCommands],
];

/** The program with the command named in `argv` registered, or every command (help, typos). */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('pinhole')
    .description(
      'Pinhole: applications declare the openings they need; policy decides; firewalls apply leases',
    )
    .showHelpAfterError()
    .exitOverride();
  const named = COMMANDS.find(([names]) => names.includes(argv[2] ?? ''));
  const chosen = named === undefined ? COMMANDS : [named];
  const registers = await Promise.all(chosen.map(([, load]) => load()));
  for (const register of registers) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const message = isPinholeError(e) ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
