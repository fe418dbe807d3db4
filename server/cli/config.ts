/**
 * `pinhole config check|show|reference`: validate a configuration file (every problem with
 * `file:line:col`), print the effective configuration, print the option reference (Markdown,
 * generated from server/config/schema.ts).
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatProblem, loadConfigLayers } from '../config/load.js';
import { acceptedText, configOptions, type ConfigOption } from '../config/options.js';

export type Write = (line: string) => void;

const stdout: Write = (line) => process.stdout.write(`${line}\n`);

/** Exit code 0 when the file (and, with `env`, the environment) is valid; 1 listing every problem. */
export function runConfigCheck(
  file: string,
  options: { env?: NodeJS.ProcessEnv } = {},
  write: Write = stdout,
): number {
  const outcome = loadConfigLayers({ file, ...(options.env === undefined ? {} : { env: options.env }) });
  if (outcome.ok) {
    write(`${file}: ok`);
    return 0;
  }
  for (const p of outcome.problems) write(`error: ${formatProblem(p)}`);
  write(`${file}: ${outcome.problems.length} error(s)`);
  return 1;
}

function formatDefault(o: ConfigOption): string {
  if (!('default' in o) || o.default === undefined) return o.required ? '(required)' : '(none)';
  return `\`${typeof o.default === 'string' ? o.default : JSON.stringify(o.default)}\``;
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** The README's "Configuration reference" table, from the schema. */
export function configReference(): string[] {
  const lines = ['| Key | Environment | Default | Meaning |', '| --- | --- | --- | --- |'];
  for (const o of configOptions()) {
    const variant = o.variant === undefined ? '' : ` Only with \`${o.variant}\`.`;
    const accepts = o.type === 'string' ? '' : ` Accepts ${acceptedText(o)}.`;
    lines.push(
      `| \`${o.path}\` | \`${o.env}\` | ${formatDefault(o)} | ${cell(`${o.description}${variant}${accepts}`)} |`,
    );
  }
  return lines;
}

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check and explain the server configuration file');
  config
    .command('check')
    .description('validate a configuration file; lists every error as file:line:col: path: message (exit 1)')
    .argument('<file>', 'YAML configuration file')
    .option('--env', 'also apply PINHOLE_* environment overrides, as `pinhole serve` would')
    .action((file: string, flags: { env?: boolean }) => {
      process.exitCode = runConfigCheck(file, flags.env === true ? { env: process.env } : {});
    });
  config
    .command('show')
    .description('print the effective configuration (defaults < file < PINHOLE_* environment) as YAML')
    .option('-c, --config <file>', 'YAML configuration file')
    .action((flags: { config?: string }) => {
      const outcome = loadConfigLayers({
        env: process.env,
        ...(flags.config === undefined ? {} : { file: flags.config }),
      });
      if (!outcome.ok) {
        for (const p of outcome.problems) stdout(`error: ${formatProblem(p)}`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(stringify(outcome.config));
    });
  config
    .command('reference')
    .description('print every option (key, environment variable, default, meaning) as a Markdown table')
    .action(() => {
      for (const line of configReference()) stdout(line);
    });
}
