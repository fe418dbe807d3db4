/**
 * Every configuration option as data, derived from the schema (its JSON Schema, zod's public view of
 * it): path, type, bounds, default, description and environment variable. The environment layer,
 * the error messages and `pinhole config reference` all read this one list.
 */
import { z } from 'zod';
import { ConfigSchema } from './schema.js';

export type OptionType = 'string' | 'integer' | 'number' | 'boolean' | 'enum';

export interface ConfigOption {
  /** Dotted path, e.g. `watch.queueLimit`. */
  readonly path: string;
  readonly segments: readonly string[];
  readonly type: OptionType;
  /** For enums and discriminators: the accepted values. */
  readonly values?: readonly string[];
  readonly min?: number;
  /** A lower bound the value must exceed (`z.number().positive()`: 0). */
  readonly above?: number;
  readonly max?: number;
  readonly pattern?: string;
  /** Absent when the option has no default (optional, or derived from another option). */
  readonly default?: unknown;
  readonly description: string;
  /** PINHOLE_WATCH_QUEUE_LIMIT. */
  readonly env: string;
  /** For options of one variant of a union, e.g. `store.kind: sqlite`. */
  readonly variant?: string;
  readonly required: boolean;
}

type JsonSchema = Record<string, unknown>;

/** The pattern of every host:port option (schema.ts `hostPort`), as JSON Schema writes it. */
const HOST_PORT_PATTERN = '^.+:\\d{1,5}$';

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `queueLimit` → `QUEUE_LIMIT`; `maxReceiveMessageBytes` → `MAX_RECEIVE_MESSAGE_BYTES`. */
function upperSnake(segment: string): string {
  return segment.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export function envName(segments: readonly string[]): string {
  return `PINHOLE_${segments.map(upperSnake).join('_')}`;
}

function leaf(
  segments: readonly string[],
  s: JsonSchema,
  inherited: unknown,
  required: boolean,
  variant: string | undefined,
): ConfigOption {
  const values = Array.isArray(s.enum)
    ? s.enum.map(String)
    : typeof s.const === 'string'
      ? [s.const]
      : undefined;
  const type: OptionType =
    values !== undefined
      ? 'enum'
      : s.type === 'integer' || s.type === 'number' || s.type === 'boolean'
        ? s.type
        : 'string';
  const dflt = 'default' in s ? s.default : inherited;
  const max = typeof s.maximum === 'number' && s.maximum < Number.MAX_SAFE_INTEGER ? s.maximum : undefined;
  return {
    path: segments.join('.'),
    segments,
    type,
    ...(values === undefined ? {} : { values }),
    ...(typeof s.minimum === 'number' ? { min: s.minimum } : {}),
    ...(typeof s.exclusiveMinimum === 'number' ? { above: s.exclusiveMinimum } : {}),
    ...(max === undefined ? {} : { max }),
    ...(typeof s.pattern === 'string' ? { pattern: s.pattern } : {}),
    ...(dflt === undefined ? {} : { default: dflt }),
    description: typeof s.description === 'string' ? s.description : '',
    env: envName(segments),
    ...(variant === undefined ? {} : { variant }),
    required,
  };
}

function walk(
  out: ConfigOption[],
  segments: readonly string[],
  s: JsonSchema,
  inheritedDefault: unknown,
  variant: string | undefined,
): void {
  if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) {
    const branches = ((s.oneOf ?? s.anyOf) as unknown[]).filter(isObject);
    const sectionDefault = 'default' in s ? s.default : inheritedDefault;
    const seen = new Map<string, ConfigOption>();
    for (const branch of branches) {
      const props = isObject(branch.properties) ? branch.properties : {};
      const kindEntry = Object.entries(props).find(([, p]) => isObject(p) && typeof p.const === 'string');
      const tag =
        kindEntry === undefined
          ? undefined
          : `${[...segments, kindEntry[0]].join('.')}: ${String((kindEntry[1] as JsonSchema).const)}`;
      const branchOut: ConfigOption[] = [];
      const defaultsHere =
        isObject(sectionDefault) &&
        kindEntry !== undefined &&
        sectionDefault[kindEntry[0]] === (kindEntry[1] as JsonSchema).const
          ? sectionDefault
          : undefined;
      walk(branchOut, segments, branch, defaultsHere, tag);
      for (const o of branchOut) {
        const prev = seen.get(o.path);
        if (prev === undefined) {
          seen.set(o.path, o);
          continue;
        }
        const rest = withoutVariant(prev);
        if (o.path === kindPath(o)) {
          // The discriminator appears in every branch: one row listing all its values.
          const values = [...(prev.values ?? []), ...(o.values ?? [])];
          seen.set(o.path, {
            ...rest,
            values,
            description: prev.description || o.description,
            ...(isObject(sectionDefault) ? { default: sectionDefault[o.segments.at(-1) ?? ''] } : {}),
          });
        } else {
          // An option every variant has (say, retainRevisions): one row, no variant restriction.
          seen.set(o.path, rest);
        }
      }
    }
    out.push(...seen.values());
    return;
  }
  if (s.type === 'object' && isObject(s.properties)) {
    const sectionDefault = 'default' in s ? s.default : inheritedDefault;
    const required = new Set(Array.isArray(s.required) ? s.required.map(String) : []);
    for (const [key, child] of Object.entries(s.properties)) {
      if (!isObject(child)) continue;
      const childDefault = isObject(sectionDefault) ? sectionDefault[key] : undefined;
      const path = [...segments, key];
      if (
        (child.type === 'object' && isObject(child.properties)) ||
        Array.isArray(child.oneOf) ||
        Array.isArray(child.anyOf)
      ) {
        walk(out, path, child, childDefault, variant);
      } else {
        out.push(leaf(path, child, childDefault, required.has(key) && !('default' in child), variant));
      }
    }
  }
}

function withoutVariant(o: ConfigOption): ConfigOption {
  const copy: { -readonly [K in keyof ConfigOption]?: ConfigOption[K] } = { ...o };
  delete copy.variant;
  return copy as ConfigOption;
}

/** `store.kind` for an option whose variant is `store.kind: sqlite`. */
function kindPath(o: ConfigOption): string | undefined {
  return o.variant?.split(': ')[0];
}

let cached: readonly ConfigOption[] | undefined;

/** Every option, in schema order. */
export function configOptions(): readonly ConfigOption[] {
  if (cached !== undefined) return cached;
  const out: ConfigOption[] = [];
  walk(out, [], z.toJSONSchema(ConfigSchema, { io: 'input' }), undefined, undefined);
  cached = Object.freeze(out);
  return cached;
}

/** The option at `path`, if it is one. */
export function optionAt(path: readonly (string | number)[]): ConfigOption | undefined {
  const key = path.join('.');
  return configOptions().find((o) => o.path === key);
}

/**
 * Keys accepted directly under `path` (for "unknown key" messages). With `kindOf`, options of
 * other variants are left out (`store.kind: sqlite` has no `url`).
 */
export function keysUnder(
  path: readonly (string | number)[],
  kindOf?: (kindPath: string) => unknown,
): string[] {
  const prefix = path.length === 0 ? '' : `${path.join('.')}.`;
  const keys = new Set<string>();
  for (const o of configOptions()) {
    if (!o.path.startsWith(prefix)) continue;
    const kp = kindPath(o);
    if (kp !== undefined && kindOf !== undefined && o.variant !== `${kp}: ${String(kindOf(kp))}`) continue;
    const next = o.path.slice(prefix.length).split('.')[0];
    if (next !== undefined && next !== '') keys.add(next);
  }
  return [...keys];
}

/** What an option accepts, for messages: `a whole number 10-1000000`, `one of fatal, error`. */
export function acceptedText(o: ConfigOption): string {
  const upTo = o.max === undefined ? '' : ` and at most ${o.max}`;
  const range =
    o.min !== undefined && o.max !== undefined
      ? ` ${o.min}-${o.max}`
      : o.min !== undefined
        ? ` >= ${o.min}${upTo}`
        : o.above !== undefined
          ? ` above ${o.above}${upTo}`
          : upTo;
  switch (o.type) {
    case 'integer':
      return `a whole number${range}`;
    case 'number':
      return `a number${range}`;
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${(o.values ?? []).join(', ')}`;
    case 'string':
      return o.pattern === HOST_PORT_PATTERN ? 'HOST:PORT, e.g. 127.0.0.1:7443' : 'a string';
  }
}
