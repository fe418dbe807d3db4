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
import { registerConfigCommands } from './config.js';
import { registerDoctorCommand } from './doctor.js';
import { registerAgentCommand } from '../../client-sdk/cli/agent.js';
import { registerOpenCommands } from '../../client-sdk/cli/open.js';

export function buildProgram(): Command {
  const program = new Command('pinhole')
    .description(
      'Pinhole: applications declare the openings they need; policy decides; firewalls apply leases',
    )
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerCertsCommands(program);
  registerPolicyCommands(program);
  registerAdminCommands(program);
  registerAuditCommands(program);
  registerReceiptCommands(program);
  registerConfigCommands(program);
  registerDoctorCommand(program);
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

// grpc-js sets the TLS server name to the target when it is an IP literal (127.0.0.1:7443), and
// Node warns about that on every connection (DEP0123). The certificate is still checked against
// the address (IP SAN), so the warning is noise for this tool's users; other warnings pass.
process.removeAllListeners('warning');
process.on('warning', (warning: Error & { code?: string }) => {
  if (warning.code === 'DEP0123') return;
  process.stderr.write(`${warning.name}: ${warning.message}\n`);
});

process.exitCode = await main(process.argv);
