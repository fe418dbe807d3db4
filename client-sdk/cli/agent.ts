/** `pinhole agent`: a firewall agent that applies the leases in its scope to nftables (or a command). */
import type { Command } from 'commander';
import { FirewallAgent, type AgentLog } from '../agent/agent.js';
import { NftEnforcer } from '../enforcer/nft-enforcer.js';
import { CommandEnforcer } from '../enforcer/command-enforcer.js';
import type { Enforcer } from '../enforcer/types.js';
import { readClientTls } from '../wire.js';
import { AgentMetrics, serveMetrics } from '../agent/agent-metrics.js';

interface AgentFlags {
  server: string;
  certs: string;
  identity: string;
  mode: string;
  backend: string;
  command?: string;
  adminCidr: string[];
  host: string[];
  group: string[];
  graceMs: string;
  serverName?: string;
  netns?: string;
  stateFile?: string;
  metricsListen?: string;
  quiet?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function registerAgentCommand(program: Command): void {
  program
    .command('agent')
    .description('watch the leases in this firewall’s scope and apply them (nftables by default)')
    .option('--server <host:port>', 'Pinhole server', '127.0.0.1:7443')
    .option('--certs <dir>', 'certificate directory', 'certs')
    .option('--identity <base>', 'certificate file base name (firewall-<name>)', 'firewall-gw-1')
    .option('--mode <mode>', 'host (input hook, endpoint baseline) or gateway (forward hook)', 'host')
    .option('--backend <kind>', 'nftables or command', 'nftables')
    .option(
      '--command <path>',
      'for --backend command: the program that receives each batch as JSON on stdin',
    )
    .option('--admin-cidr <cidr>', 'always-accepted admin segment (repeatable)', collect, [])
    .option(
      '--host <name>',
      'watch only this host (repeatable; default: the whole scope policy gives)',
      collect,
      [],
    )
    .option('--group <name>', 'watch only this group (repeatable)', collect, [])
    .option('--grace-ms <ms>', 'kernel timeout = lease expiry + this', '5000')
    .option(
      '--server-name <name>',
      'name to check in the server certificate when dialing an address it does not list',
    )
    .option(
      '--netns <name>',
      'apply inside this network namespace (runs nft and conntrack through ip netns exec)',
    )
    .option(
      '--state-file <path>',
      'keep the resume point here, so a restarted agent resumes instead of re-syncing',
    )
    .option(
      '--metrics-listen <host:port>',
      'serve Prometheus /metrics over plain HTTP on this loopback address, e.g. 127.0.0.1:9465',
    )
    .option('--quiet', 'log warnings and errors only')
    .action(async (flags: AgentFlags) => {
      if (flags.mode !== 'host' && flags.mode !== 'gateway')
        throw new Error(`--mode: ${flags.mode} is not a mode; use host or gateway`);
      const log: AgentLog = (level, message, fields) => {
        if (flags.quiet === true && (level === 'debug' || level === 'info')) return;
        process.stdout.write(
          `${JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields })}\n`,
        );
      };
      let enforcer: Enforcer;
      const inNetns = flags.netns === undefined ? [] : ['ip', 'netns', 'exec', flags.netns];
      if (flags.backend === 'nftables') {
        const nft = new NftEnforcer({
          mode: flags.mode,
          nftCommand: [...inNetns, 'nft'],
          conntrackCommand: [...inNetns, 'conntrack'],
          adminCidrs: flags.adminCidr,
          graceMs: Number(flags.graceMs),
          log: (msg) => {
            log('info', msg);
          },
        });
        for (const warning of await nft.detectConflicts()) log('warn', 'conflicting ruleset', { warning });
        enforcer = nft;
      } else if (flags.backend === 'command') {
        if (flags.command === undefined)
          throw new Error('--command: required with --backend command; give the program to run per batch');
        enforcer = new CommandEnforcer({ command: [flags.command] });
      } else {
        throw new Error(`--backend: ${flags.backend} is not a backend; use nftables or command`);
      }
      const metrics =
        flags.metricsListen === undefined ? undefined : new AgentMetrics({ backend: flags.backend });
      const endpoint =
        metrics === undefined || flags.metricsListen === undefined
          ? undefined
          : await serveMetrics(flags.metricsListen, metrics.registry);
      if (endpoint !== undefined)
        log('info', 'metrics served', { url: `http://${endpoint.address}/metrics` });
      const agent = new FirewallAgent({
        server: flags.server,
        tls: readClientTls(flags.certs, flags.identity),
        enforcer,
        scope: { hosts: flags.host, groups: flags.group },
        mode: flags.mode,
        backend: flags.backend,
        ...(flags.serverName === undefined
          ? {}
          : { channelOptions: { 'grpc.ssl_target_name_override': flags.serverName } }),
        log,
        ...(flags.stateFile === undefined ? {} : { stateFile: flags.stateFile }),
        ...(metrics === undefined ? {} : { metrics }),
      });
      await agent.start();
      log('info', 'agent started', { server: flags.server, mode: flags.mode, backend: flags.backend });
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => {
          resolve();
        });
        process.once('SIGTERM', () => {
          resolve();
        });
      });
      await agent.close();
      await endpoint?.close();
    });
}
