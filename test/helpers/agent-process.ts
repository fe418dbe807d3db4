/** `pinhole agent` child processes for end-to-end tests, applying inside a network namespace. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './pinhole.js';

export interface AgentProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves when the agent has logged a line matching `pattern` (after `fromOffset` in the output). */
  waitFor(pattern: RegExp, timeoutMs?: number, fromOffset?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnAgent(args: {
  server: string;
  certDir: string;
  identity: string;
  mode: 'host' | 'gateway';
  netns: string;
  stateFile?: string;
  graceMs?: number;
  adminCidrs?: string[];
}): AgentProcess {
  const argv = [
    '--import',
    'tsx',
    join(REPO, 'server', 'cli', 'pinhole.ts'),
    'agent',
    '--server',
    args.server,
    '--certs',
    args.certDir,
    '--identity',
    args.identity,
    '--mode',
    args.mode,
    '--netns',
    args.netns,
    '--grace-ms',
    String(args.graceMs ?? 500),
    ...(args.stateFile === undefined ? [] : ['--state-file', args.stateFile]),
    ...(args.adminCidrs ?? []).flatMap((c) => ['--admin-cidr', c]),
  ];
  const child = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    waitFor: (pattern, timeoutMs = 20_000, fromOffset = 0) =>
      new Promise((resolve, reject) => {
        const started = Date.now();
        const check = (): void => {
          if (pattern.test(out.slice(fromOffset))) resolve();
          else if (child.exitCode !== null) reject(new Error(`agent exited (${child.exitCode}):\n${out}`));
          else if (Date.now() - started > timeoutMs)
            reject(new Error(`agent did not log ${String(pattern)}:\n${out}`));
          else setTimeout(check, 50);
        };
        check();
      }),
    kill: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => {
          resolve();
        });
        child.kill(signal);
      }),
  };
}
