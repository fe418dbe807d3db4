/**
 * The shape of a policy file, in zod, and the translation of zod issues into diagnostics that say how
 * to fix the file. zod checks structure (keys, types, enums); formats and references (durations,
 * CIDRs, port specs, group and app names, cycles) are checked in compile-*.ts so that every one of them
 * is reported, not only those in entries that are structurally sound.
 */
import { z } from 'zod';
import type { DiagnosticSink, Path } from './diagnostics.js';

const stringOrList = z.union([z.string(), z.array(z.string())]);
const labelValue = z.union([z.string(), z.number(), z.boolean()]);

export const DefaultsSchema = z.strictObject({
  ttl: z.string().optional(),
  min_ttl: z.string().optional(),
  max_ttl: z.string().optional(),
  max_lifetime: z.string().optional(),
});

export const SiteSchema = z.array(z.string());

export const HostSchema = z.strictObject({
  labels: z.record(z.string(), labelValue).optional(),
  site: z.string().optional(),
  addresses: z.array(z.string()).optional(),
  description: z.string().optional(),
});

export const GroupSchema = z.strictObject({
  hosts: z.array(z.string()).optional(),
  labels: z.record(z.string(), labelValue).optional(),
  cidrs: z.array(z.string()).optional(),
  sites: z.array(z.string()).optional(),
  groups: z.array(z.string()).optional(),
  description: z.string().optional(),
});

export const AppSchema = z.strictObject({
  ports: z.array(z.string()).min(1),
  description: z.string().optional(),
});

export const RuleSchema = z.strictObject({
  id: z.string(),
  description: z.string().optional(),
  requesters: stringOrList,
  open: stringOrList,
  from: stringOrList.optional(),
  to: stringOrList.optional(),
  max_ttl: z.string().optional(),
  approval: z.enum(['auto', 'manual']).optional(),
  effect: z.enum(['allow', 'deny']).optional(),
  expires: z.union([z.string(), z.date()]).optional(),
});

export const EnforcerSchema = z.strictObject({
  watches: z.strictObject({
    all: z.boolean().optional(),
    hosts: z.array(z.string()).optional(),
    groups: z.array(z.string()).optional(),
  }),
  mode: z.enum(['host', 'gateway']).optional(),
  description: z.string().optional(),
});

export type RawDefaults = z.infer<typeof DefaultsSchema>;
export type RawHost = z.infer<typeof HostSchema>;
export type RawGroup = z.infer<typeof GroupSchema>;
export type RawApp = z.infer<typeof AppSchema>;
export type RawRule = z.infer<typeof RuleSchema>;
export type RawEnforcer = z.infer<typeof EnforcerSchema>;

export const TOP_LEVEL_KEYS = ['defaults', 'sites', 'hosts', 'groups', 'apps', 'rules', 'enforcers'] as const;

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** ` (did you mean "from"?)` or ''. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestD <= limit ? ` (did you mean "${best}"?)` : '';
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  boolean: 'true or false',
  number: 'a number',
  date: 'a date',
};

/**
 * Run `schema` on one entry and report every issue at its path. Returns the parsed value, or undefined
 * when the entry is structurally unusable (its problems are reported).
 */
export function parseEntry<T>(
  sink: DiagnosticSink,
  path: Path,
  schema: z.ZodType<T>,
  value: unknown,
): T | undefined {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const at = [...path, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))];
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = schemaKeys(schema, issue.path);
        for (const key of issue.keys)
          sink.error(
            [...at, key],
            `unknown key "${key}"${didYouMean(key, allowed)}; allowed keys: ${allowed.join(', ')}`,
            true,
          );
        break;
      }
      case 'invalid_type':
        if (issue.input === undefined)
          sink.error(
            at,
            `is required; add it (${EXPECTED[issue.expected] ?? issue.expected})`,
            at.length > 0,
          );
        else
          sink.error(
            at,
            `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`,
          );
        break;
      case 'invalid_value': {
        const hint =
          issue.input === 'deny' && at[at.length - 1] === 'approval' ? '; to deny, write effect: deny' : '';
        sink.error(
          at,
          `${describeValue(issue.input)} is not allowed; use one of ${issue.values.map(String).join(', ')}${hint}`,
        );
        break;
      }
      case 'invalid_union':
        sink.error(at, `expected a string or a list of strings, got ${describeValue(issue.input)}`);
        break;
      case 'too_small':
        sink.error(at, 'must not be empty; list at least one entry');
        break;
      // Not produced by the schemas above; zod's own message is the best we have if one appears.
      case 'too_big':
      case 'invalid_format':
      case 'not_multiple_of':
      case 'invalid_key':
      case 'invalid_element':
      case 'custom':
        sink.error(at, issue.message);
    }
  }
  // Unknown keys alone do not make an entry unusable: check the rest of it too, so a typo in one key
  // does not hide a bad reference in another.
  if (!result.error.issues.every((i) => i.code === 'unrecognized_keys')) return undefined;
  let cleaned: unknown = value;
  for (const issue of result.error.issues) cleaned = omitKeys(cleaned, issue.path, issue.keys);
  const again = schema.safeParse(cleaned);
  return again.success ? again.data : undefined;
}

/** A copy of `value` without `keys` in the mapping at `path` (the input itself is left alone). */
function omitKeys(value: unknown, path: readonly PropertyKey[], keys: readonly string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v: unknown, i) => (i === head ? omitKeys(v, rest, keys) : v));
  const entries = Object.entries(value);
  if (head === undefined) return Object.fromEntries(entries.filter(([k]) => !keys.includes(k)));
  return Object.fromEntries(entries.map(([k, v]) => [k, k === String(head) ? omitKeys(v, rest, keys) : v]));
}

/** The keys an object schema allows at `subPath` (only objects nested in objects are needed here). */
function schemaKeys(schema: z.ZodType, subPath: readonly PropertyKey[]): string[] {
  let s: z.ZodType = schema;
  for (const seg of subPath) {
    if (!(s instanceof z.ZodObject)) return [];
    const next = (s.shape as Record<string, z.ZodType>)[String(seg)];
    if (next === undefined) return [];
    s = next instanceof z.ZodOptional ? (next.unwrap() as z.ZodType) : next;
  }
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/** Names of groups, sites, apps, hosts, rules and enforcers. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const NAME_HINT = 'use letters, digits, ".", "_" and "-", starting with a letter or digit';
