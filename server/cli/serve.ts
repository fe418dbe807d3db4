/**
 * `pinhole serve`: run the negotiation server until SIGINT/SIGTERM; SIGHUP reloads policy and the
 * TLS files (CA bundle, server certificate and key, CRL).
 *
 * Shutdown (SIGTERM from systemd, SIGINT from a terminal) is graceful: health turns NOT_SERVING,
 * lease streams end with UNAVAILABLE (agents resume on another server from their last revision),
 * the listeners stop accepting, requests in flight finish within `shutdown.graceMs`, then the store
 * closes. A second signal, or a shutdown that overruns its deadline, exits at once: every
 * acknowledged grant is already durable, so a hard stop loses nothing acknowledged either.
 */
import type { Command } from 'commander';
import { createRootLogger } from '../log.js';
import { loadConfig } from '../config/load.js';
import { startServer } from '../app.js';

interface ServeFlags {
  config?: string;
  listen?: string;
  dataDir?: string;
  policy?: string;
  certs?: string;
  logLevel?: string;
}

/** How long past shutdown.graceMs closing may take (store flush, policy watcher) before a hard exit. */
const CLOSE_SLACK_MS = 10_000;

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'run the negotiation server (defaults: SQLite under data/, dev certs in certs/, examples/policy.yaml)',
    )
    .option('-c, --config <file>', 'YAML configuration file (see `pinhole config reference`)')
    .option('--listen <host:port>', 'gRPC mTLS listen address (default 127.0.0.1:7443)')
    .option('--data-dir <dir>', 'data directory (default data)')
    .option('--policy <file>', 'policy file (default examples/policy.yaml)')
    .option('--certs <dir>', 'certificate directory (default certs)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .action(async (flags: ServeFlags) => {
      const config = loadConfig({
        ...(flags.config === undefined ? {} : { file: flags.config }),
        env: process.env,
        flags: {
          listen: ['--listen', flags.listen],
          dataDir: ['--data-dir', flags.dataDir],
          'policy.file': ['--policy', flags.policy],
          'certs.dir': ['--certs', flags.certs],
          'log.level': ['--log-level', flags.logLevel],
        },
      });
      const log = createRootLogger(config.log.level);
      const server = await startServer(config, { log });
      // One line for people and scripts alike: the address to point clients at.
      process.stdout.write(
        `pinhole listening on ${server.address} (epoch ${server.epoch}); admin console https://${server.adminAddress}/\n`,
      );
      const onHup = (): void => {
        void server.reloadPolicy();
        void server.reloadTls();
      };
      process.on('SIGHUP', onHup);
      const signal = await waitForSignal();
      process.off('SIGHUP', onHup);
      const graceMs = config.shutdown.graceMs;
      log.info(
        { signal, graceMs },
        'shutting down: NOT_SERVING, ending lease streams, finishing requests in flight',
      );
      const hardExit = (why: string): void => {
        log.error({ why }, 'hard exit');
        process.exit(1);
      };
      process.once('SIGINT', () => {
        hardExit('second signal');
      });
      process.once('SIGTERM', () => {
        hardExit('second signal');
      });
      const deadline = setTimeout(() => {
        hardExit(`shutdown took longer than ${graceMs + CLOSE_SLACK_MS} ms`);
      }, graceMs + CLOSE_SLACK_MS);
      deadline.unref();
      await server.close();
      clearTimeout(deadline);
      log.info({ signal }, 'stopped');
      // Nothing may keep a stopped server alive (a client's lingering keep-alive socket, say).
      setTimeout(() => process.exit(), 1000).unref();
    });
}
