/** `pinhole serve`: run the negotiation server until SIGINT/SIGTERM; SIGHUP reloads policy. */
import type { Command } from 'commander';
import { createRootLogger } from '../log.js';
import { envOverrides, mergeLayers, parseConfig, readConfigFile } from '../config/load.js';
import { startServer } from '../app.js';

interface ServeFlags {
  config?: string;
  listen?: string;
  dataDir?: string;
  policy?: string;
  certs?: string;
  logLevel?: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the negotiation server (defaults: SQLite under data/, dev certs in certs/, examples/policy.yaml)')
    .option('-c, --config <file>', 'YAML configuration file')
    .option('--listen <host:port>', 'gRPC mTLS listen address (default 127.0.0.1:7443)')
    .option('--data-dir <dir>', 'data directory (default data)')
    .option('--policy <file>', 'policy file (default examples/policy.yaml)')
    .option('--certs <dir>', 'certificate directory (default certs)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(async (flags: ServeFlags) => {
      const fromFlags = {
        listen: flags.listen,
        dataDir: flags.dataDir,
        policy: flags.policy === undefined ? undefined : { file: flags.policy },
        certs: flags.certs === undefined ? undefined : { dir: flags.certs },
        log: flags.logLevel === undefined ? undefined : { level: flags.logLevel },
      };
      const config = parseConfig(
        mergeLayers(flags.config === undefined ? {} : readConfigFile(flags.config), envOverrides(process.env), fromFlags),
        flags.config ?? 'configuration',
      );
      const log = createRootLogger(config.log.level);
      const server = await startServer(config, { log });
      // One line for people and scripts alike: the address to point clients at.
      process.stdout.write(`pinhole listening on ${server.address} (epoch ${server.epoch})\n`);
      process.on('SIGHUP', () => {
        void server.reloadPolicy();
      });
      await new Promise<void>((resolve) => {
        const stop = (signal: string): void => {
          log.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await server.close();
    });
}
