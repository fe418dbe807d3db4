/**
 * Loads the configuration: defaults < YAML file < environment < command-line flags. Every problem
 * is reported, each where it was written: `file:line:col: path: message` for the file,
 * `env PINHOLE_X: path: message` for the environment, `--flag: path: message` for flags.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { PinholeError } from '../core/errors.js';
import { yamlLocator } from '../policy/diagnostics.js';
import { ConfigSchema, type Config } from './schema.js';
import { acceptedText, configOptions, type ConfigOption } from './options.js';
import {
  fileLayer,
  formatProblem,
  isRecord,
  namedLayer,
  problemsOf,
  show,
  sortProblems,
  type ConfigLayer,
  type ConfigProblem,
} from './problems.js';

export type { ConfigLayer, ConfigProblem } from './problems.js';
export { formatProblem } from './problems.js';

/**
 * Other names read too: PINHOLE_POLICY (policy.file) and PINHOLE_STORE_URL (store.kind postgres +
 * store.url), older names; GRPC_SSL_CIPHER_SUITES, the variable grpc-js's own credentials read
 * (its createSsl passes it as `ciphers`; ours replace createSsl, so it is read here, once).
 */
const ENV_ALIASES: Readonly<Record<string, string>> = {
  PINHOLE_POLICY: 'policy.file',
  GRPC_SSL_CIPHER_SUITES: 'certs.grpcCipherSuites',
};

export type ParseOutcome =
  | { readonly ok: true; readonly config: Readonly<Config> }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** Deep merge of plain objects; later layers win. */
export function mergeLayers(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      const prev = out[k];
      out[k] = isRecord(prev) && isRecord(v) ? mergeLayers(prev, v) : v;
    }
  }
  return out;
}

function setPath(target: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = target;
  for (const seg of segments.slice(0, -1)) {
    const next = node[seg];
    if (isRecord(next)) node = next;
    else {
      const created: Record<string, unknown> = {};
      node[seg] = created;
      node = created;
    }
  }
  const last = segments.at(-1);
  if (last !== undefined) node[last] = value;
}

function coerce(option: ConfigOption, text: string): { ok: true; value: unknown } | { ok: false } {
  switch (option.type) {
    case 'integer':
    case 'number': {
      const n = text.trim() === '' ? Number.NaN : Number(text);
      return Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(text)) return { ok: true, value: true };
      if (/^(false|0|no|off)$/i.test(text)) return { ok: true, value: false };
      return { ok: false };
    case 'enum':
    case 'string':
      return { ok: true, value: text };
  }
}

/** The environment as a layer: every option has a PINHOLE_* variable (see `pinhole config reference`). */
export function envLayer(env: NodeJS.ProcessEnv): { layer: ConfigLayer; problems: ConfigProblem[] } {
  const data: Record<string, unknown> = {};
  const names = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  const options = configOptions();
  const byName = new Map<string, ConfigOption>(options.map((o) => [o.env, o]));
  for (const [alias, path] of Object.entries(ENV_ALIASES)) {
    const o = options.find((x) => x.path === path);
    if (o !== undefined && env[o.env] === undefined) byName.set(alias, o);
  }
  for (const [name, option] of byName) {
    const text = env[name];
    if (text === undefined) continue;
    const value = coerce(option, text);
    if (!value.ok) {
      problems.push({
        where: `env ${name}`,
        path: option.path,
        message: `${show(text)} is not ${acceptedText(option)}`,
      });
      continue;
    }
    setPath(data, option.segments, value.value);
    names.set(option.path, `env ${name}`);
  }
  if (env.PINHOLE_STORE_URL !== undefined && env.PINHOLE_STORE_KIND === undefined) {
    setPath(data, ['store', 'kind'], 'postgres');
    names.set('store', 'env PINHOLE_STORE_URL');
  }
  return { layer: namedLayer(data, names, 'environment'), problems };
}

/** Environment overrides as plain data (invalid values left out; envLayer reports them). */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return envLayer(env).layer.data;
}

/** Command-line flags as a layer: `flags` maps a dotted path to [flag name, value]. */
export function flagsLayer(flags: Readonly<Record<string, readonly [string, unknown]>>): ConfigLayer {
  const data: Record<string, unknown> = {};
  const names = new Map<string, string>();
  for (const [path, [flag, value]] of Object.entries(flags)) {
    if (value === undefined) continue;
    setPath(data, path.split('.'), value);
    names.set(path, flag);
  }
  return namedLayer(data, names, 'command line');
}

/** Reads a YAML configuration file as a layer with positions; syntax problems are returned, not thrown. */
export function readConfigLayer(path: string): { layer?: ConfigLayer; problems: ConfigProblem[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    return {
      problems: [
        {
          where: `${path}:1:1`,
          file: path,
          line: 1,
          col: 1,
          path: '',
          message: `cannot read the configuration file (${code}); check the path and permissions`,
        },
      ],
    };
  }
  const lines = new LineCounter();
  // uniqueKeys: a key written twice is an error, not a silent override.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, message: string): ConfigProblem => {
    const { line, col } = lines.linePos(offset);
    return { where: `${path}:${line}:${col}`, file: path, line, col, path: '', message };
  };
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => at(e.pos[0], `YAML syntax: ${e.message.split('\n')[0] ?? e.message}`)),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return { problems: [at(0, `YAML: ${e instanceof Error ? e.message : String(e)}`)] };
  }
  if (value === null || value === undefined) value = {};
  if (!isRecord(value))
    return {
      problems: [at(0, 'the configuration must be a YAML mapping of sections (listen:, store:, ...)')],
    };
  return { layer: fileLayer(value, path, yamlLocator(doc, lines)), problems: [] };
}

/** Merges the layers (lowest precedence first) and validates; every problem is named with its origin. */
export function resolveConfig(layers: readonly ConfigLayer[], fallback = 'configuration'): ParseOutcome {
  const input = mergeLayers(...layers.map((l) => l.data));
  const result = ConfigSchema.safeParse(input);
  if (result.success) return { ok: true, config: deepFreeze(result.data) };
  return { ok: false, problems: problemsOf(result.error.issues, input, layers, fallback) };
}

export interface LoadOptions {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Dotted path → [flag, value]; undefined values are ignored. */
  readonly flags?: Readonly<Record<string, readonly [string, unknown]>>;
}

/** File, environment and flags, checked together: either a config or every problem at once. */
export function loadConfigLayers(o: LoadOptions): ParseOutcome {
  const problems: ConfigProblem[] = [];
  const layers: ConfigLayer[] = [];
  if (o.file !== undefined) {
    const read = readConfigLayer(o.file);
    problems.push(...read.problems);
    if (read.layer !== undefined) layers.push(read.layer);
  }
  if (o.env !== undefined) {
    const env = envLayer(o.env);
    problems.push(...env.problems);
    layers.push(env.layer);
  }
  if (o.flags !== undefined) layers.push(flagsLayer(o.flags));
  // Syntax errors stop here: there is no tree to check positions against.
  if (problems.some((p) => p.line !== undefined && p.path === ''))
    return { ok: false, problems: sortProblems(problems) };
  const resolved = resolveConfig(layers, o.file ?? 'configuration');
  if (resolved.ok && problems.length === 0) return resolved;
  return { ok: false, problems: sortProblems([...problems, ...(resolved.ok ? [] : resolved.problems)]) };
}

/** As loadConfigLayers, throwing INVALID_ARGUMENT that lists every problem, one per line. */
export function loadConfig(o: LoadOptions): Readonly<Config> {
  const outcome = loadConfigLayers(o);
  if (outcome.ok) return outcome.config;
  throw new PinholeError('INVALID_ARGUMENT', outcome.problems.map(formatProblem).join('\n'));
}

/** Validates a merged configuration built in code; every problem is reported with its path. */
export function parseConfig(input: unknown, source = 'configuration'): Readonly<Config> {
  const data = isRecord(input) ? input : {};
  const outcome = resolveConfig([namedLayer(data, new Map(), source)], source);
  if (outcome.ok) return outcome.config;
  throw new PinholeError('INVALID_ARGUMENT', outcome.problems.map(formatProblem).join('\n'));
}

/** The file's data; throws INVALID_ARGUMENT listing `file:line:col` problems if it cannot be read or parsed. */
export function readConfigFile(path: string): Record<string, unknown> {
  const read = readConfigLayer(path);
  if (read.layer === undefined)
    throw new PinholeError('INVALID_ARGUMENT', read.problems.map(formatProblem).join('\n'));
  return read.layer.data;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
