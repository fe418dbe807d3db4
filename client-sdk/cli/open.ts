/**
 * `pinhole open` and `pinhole leases`: the SDK from the command line, for applications that are
 * not written against it. `pinhole open --port tcp/5432 -- postgres -D data` holds the opening
 * while the command runs (signals forwarded, exit code passed through) and releases it after.
 * Status lines go to stderr, so the command's stdout stays its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { createClient, type PinholeClient } from '../client.js';
import { parseDurationMs } from '../durations.js';
import type { Opening } from '../opening.js';
import type { OpenOptions } from '../open-options.js';
import { describeRule } from '../types.js';
import { formatLeases } from './table.js';

interface ConnectFlags {
  readonly server: string;
  readonly certs: string;
  readonly identity?: string;
}

interface OpenFlags extends ConnectFlags {
  readonly app?: string[];
  readonly port?: string[];
  readonly from?: string[];
  readonly destination?: string[];
  readonly ttl?: string;
  readonly description?: string;
  readonly allOrNothing: boolean;
  readonly wait: string;
  readonly waitTimeout?: string;
  readonly pendingTimeout?: string;
  readonly hold: boolean;
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

function say(line: string): void {
  process.stderr.write(`pinhole: ${line}\n`);
}

function connect(flags: ConnectFlags): PinholeClient {
  return createClient({
    server: flags.server,
    certDir: flags.certs,
    ...(flags.identity === undefined ? {} : { identity: flags.identity }),
  });
}

function withConnectOptions(command: Command): Command {
  return command
    .option('--server <host:port>', 'Pinhole server', '127.0.0.1:7443')
    .option('--certs <dir>', 'certificate directory (ca.crt, <identity>.crt/.key)', 'certs')
    .option(
      '--identity <name>',
      'certificate file base, e.g. host-web-1 (default: the only host-*.crt in --certs)',
    );
}

function openOptions(flags: OpenFlags): OpenOptions {
  if (flags.wait !== 'granted' && flags.wait !== 'realized') {
    throw new Error(`--wait: "${flags.wait}" is not granted or realized`);
  }
  return {
    ...(flags.app === undefined ? {} : { app: flags.app }),
    ...(flags.port === undefined ? {} : { ports: flags.port }),
    ...(flags.from === undefined ? {} : { from: flags.from }),
    ...(flags.destination === undefined ? {} : { destinations: flags.destination }),
    ...(flags.ttl === undefined ? {} : { ttl: flags.ttl }),
    description: flags.description ?? 'pinhole open (command line)',
    allOrNothing: flags.allOrNothing,
    waitFor: flags.wait,
    ...(flags.waitTimeout === undefined
      ? {}
      : { realizedTimeoutMs: parseDurationMs(flags.waitTimeout, '--wait-timeout') }),
    ...(flags.pendingTimeout === undefined
      ? {}
      : { pendingTimeoutMs: parseDurationMs(flags.pendingTimeout, '--pending-timeout') }),
  };
}

function report(opening: Opening): void {
  const d = opening.decision;
  say(`${d.outcome} by rule ${d.ruleId}: ${d.reason}`);
  for (const n of d.narrowings)
    say(`  narrowed ${n.field}: asked ${n.requested}, got ${n.granted || 'nothing'} (${n.reason})`);
  if (opening.state === 'pending') {
    say(`waiting for an administrator: pending_id ${opening.pendingId}`);
    return;
  }
  const lease = opening.lease;
  if (lease === undefined) return;
  say(
    `lease ${lease.id} (${lease.state}) expires ${new Date(lease.expiresAtMs).toISOString()} unless renewed`,
  );
  for (const r of lease.rules) say(`  ${describeRule(r)}`);
  opening.on('reopened', (e) => {
    say(`re-opened (${e.why}): lease ${e.lease.id} replaces ${e.previousLeaseId}`);
  });
  opening.on('lost', (e) => {
    say(`lease ${e.leaseId} lost${e.error ? `: ${e.error.message}` : ''}; re-opening`);
  });
  opening.on('narrowed', (e) => {
    say(`narrowed: ${e.narrowings.map((n) => `${n.field} ${n.granted}`).join(', ')}`);
  });
  opening.on('error', (e) => {
    say(`${e.method ?? 'call'} failed (${e.code}): ${e.message}; retrying`);
  });
}

/** Exit status of a child that ended with `code` or by `signal`, as a shell reports it. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal === null ? 0 : constants.signals[signal]);
}

/** Runs `argv` with inherited stdio, forwarding SIGINT/SIGTERM; resolves with its exit status. */
function runCommand(argv: readonly string[]): Promise<number> {
  const [file, ...args] = argv;
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(file ?? '', args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const s of SIGNALS) process.on(s, forward);
    const done = (status: number): void => {
      for (const s of SIGNALS) process.removeListener(s, forward);
      resolve(status);
    };
    child.once('error', (e) => {
      say(`cannot run ${file ?? ''}: ${e.message}`);
      done(127);
    });
    child.once('exit', (code, signal) => {
      done(exitStatus(code, signal));
    });
  });
}

/** Holds until SIGINT/SIGTERM or until the opening is revoked; resolves with the exit status. */
function holdUntilInterrupted(opening: Opening): Promise<number> {
  return new Promise((resolve) => {
    // Timers of the SDK are unref'd; this one keeps the process alive while holding.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const finish = (status: number): void => {
      clearInterval(keepAlive);
      for (const s of SIGNALS) process.removeListener(s, onSignal);
      resolve(status);
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      say(`${signal}: releasing`);
      finish(128 + constants.signals[signal]);
    };
    for (const s of SIGNALS) process.on(s, onSignal);
    opening.once('revoked', () => {
      finish(1);
    });
  });
}

async function openAction(command: readonly string[], flags: OpenFlags): Promise<void> {
  const options = openOptions(flags);
  const client = connect(flags);
  // A signal before the opening is held cancels the Open (anything granted meanwhile is released)
  // and is remembered: it may arrive just after the answer, when there is nothing left to cancel.
  const early = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onEarlySignal = (signal: NodeJS.Signals): void => {
    interrupted ??= signal;
    early.abort();
  };
  for (const s of SIGNALS) process.on(s, onEarlySignal);
  let opening: Opening | undefined;
  try {
    opening = await client.open({ ...options, signal: early.signal });
  } catch (e) {
    if (interrupted === undefined) throw e;
  } finally {
    for (const s of SIGNALS) process.removeListener(s, onEarlySignal);
    if (opening === undefined || interrupted !== undefined) await client.close();
  }
  if (opening === undefined || interrupted !== undefined) {
    say(`${interrupted ?? 'interrupted'} before the opening was held; nothing left open`);
    process.exitCode = interrupted === undefined ? 1 : 128 + constants.signals[interrupted];
    return;
  }
  report(opening);
  opening.on('revoked', (e) => {
    say(`lease ${e.leaseId} revoked by ${e.by}: ${e.reason}`);
  });
  if (command.length === 0 && !flags.hold) {
    // One-shot: leave the lease to its TTL.
    process.stdout.write(`${opening.leaseId || opening.pendingId}\n`);
    await opening.detach();
    await client.close();
    return;
  }
  const status = command.length > 0 ? await runCommand(command) : await holdUntilInterrupted(opening);
  await client.close();
  say(`released ${opening.leaseId}`);
  process.exitCode = status;
}

async function leasesAction(flags: ConnectFlags & { readonly json: boolean }): Promise<void> {
  const client = connect(flags);
  try {
    const leases = await client.listMine();
    process.stdout.write(
      flags.json ? `${JSON.stringify(leases, null, 2)}\n` : formatLeases(leases, Date.now()),
    );
  } finally {
    await client.close();
  }
}

/** Adds `open` and `leases` to the `pinhole` program. */
export function registerOpenCommands(program: Command): void {
  withConnectOptions(
    program
      .command('open')
      .description(
        'open ports for this host: hold them while COMMAND runs (or until interrupted with --hold)',
      )
      .argument('[command...]', 'command to run while the opening is held (after --)')
      .option('--app <id...>', 'application catalog id(s), e.g. postgresql')
      .option('--port <spec...>', 'port range(s), e.g. tcp/5432 or udp/5000-5010')
      .option('--from <source...>', 'who may connect: CIDR, group:NAME, host:NAME or any')
      .option('--destination <address...>', 'own addresses to open (default: all of the host certificate)')
      .option('--ttl <duration>', 'requested term, e.g. 10m (default: policy default)')
      .option('--description <text>', 'why, shown to administrators')
      .option('--all-or-nothing', 'refuse a narrowed grant', false)
      .option('--wait <what>', 'granted | realized (firewalls applied it)', 'granted')
      .option('--wait-timeout <duration>', 'bound on --wait realized (default 30s)')
      .option('--pending-timeout <duration>', 'wait this long for an administrator when approval is needed')
      .option('--hold', 'keep the opening until SIGINT/SIGTERM', false),
  ).action(openAction);

  withConnectOptions(program.command('leases').description('list this host’s live leases'))
    .option('--json', 'print JSON', false)
    .action(leasesAction);
}
