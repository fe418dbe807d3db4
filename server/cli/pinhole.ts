#!/usr/bin/env node
/** The `pinhole` command: server, PKI, policy and client tools in one binary. */
import { Command, CommanderError } from 'commander';
import { isPinholeError } from '../core/errors.js';
import { registerServeCommand } from './serve.js';
import { registerCertsCommands } from './certs.js';
import { registerPolicyCommands } from './policy.js';
import { registerAdminCommands } from './admin.js';
import { registerAuditCommands } from './audit.js';
import { registerReceiptCommands } from './receipt.js';
import { registerAgentCommand } from '../../client-sdk/cli/agent.js';
import { registerOpenCommands } from '../../client-sdk/cli/open.js';

export function buildProgram(): Command {
  const program = new Command('pinhole')
    .description('Pinhole: applications declare the openings they need; policy decides; firewalls apply leases')
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerCertsCommands(program);
  registerPolicyCommands(program);
  registerAdminCommands(program);
  registerAuditCommands(program);
  registerReceiptCommands(program);
  registerAgentCommand(program);
  registerOpenCommands(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const message = isPinholeError(e) ? e.message : e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
