/** Loads the configuration: defaults < YAML file < environment < command-line flags. */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { PinholeError } from '../core/errors.js';
import { ConfigSchema, type Config } from './schema.js';

/** Environment overrides: PINHOLE_LISTEN, PINHOLE_DATA_DIR, PINHOLE_POLICY, PINHOLE_CERTS_DIR, PINHOLE_LOG_LEVEL, PINHOLE_STORE_URL. */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (env.PINHOLE_LISTEN !== undefined) out.listen = env.PINHOLE_LISTEN;
  if (env.PINHOLE_DATA_DIR !== undefined) out.dataDir = env.PINHOLE_DATA_DIR;
  if (env.PINHOLE_POLICY !== undefined) out.policy = { file: env.PINHOLE_POLICY };
  if (env.PINHOLE_CERTS_DIR !== undefined) out.certs = { dir: env.PINHOLE_CERTS_DIR };
  if (env.PINHOLE_LOG_LEVEL !== undefined) out.log = { level: env.PINHOLE_LOG_LEVEL };
  if (env.PINHOLE_STORE_URL !== undefined) out.store = { kind: 'postgres', url: env.PINHOLE_STORE_URL };
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; later layers win. */
export function mergeLayers(...layers: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) {
      if (v === undefined) continue;
      const prev = out[k];
      out[k] = isObject(prev) && isObject(v) ? mergeLayers(prev, v) : v;
    }
  }
  return out;
}

/** Validates a merged configuration; every problem is reported with its path. */
export function parseConfig(input: unknown, source = 'configuration'): Readonly<Config> {
  const result = ConfigSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new PinholeError('INVALID_ARGUMENT', lines.join('\n'));
  }
  return Object.freeze(result.data);
}

export function readConfigFile(path: string): Record<string, unknown> {
  const doc = parseDocument(readFileSync(path, 'utf8'));
  if (doc.errors.length > 0) {
    throw new PinholeError('INVALID_ARGUMENT', doc.errors.map((e) => `${path}: ${e.message}`).join('\n'));
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (!isObject(value)) throw new PinholeError('INVALID_ARGUMENT', `${path}: the configuration must be a YAML mapping`);
  return value;
}
