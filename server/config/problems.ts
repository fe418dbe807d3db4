/**
 * Configuration problems with their origin: `file:line:col: path: message` for the YAML file (the
 * positions come from the node tree, as for policy files), `env PINHOLE_X: path: message` for an
 * environment override and `--flag: path: message` for a command-line flag. A value is blamed on
 * the layer it came from: the highest-precedence layer that sets it.
 */
import type { z } from 'zod';
import type { Locator } from '../policy/diagnostics.js';
import { acceptedText, keysUnder, optionAt } from './options.js';

export type Segments = readonly (string | number)[];

export interface ConfigProblem {
  /** `file:line:col`, `env PINHOLE_X`, `--flag` or the name of an in-code source. */
  readonly where: string;
  readonly file?: string;
  readonly line?: number;
  readonly col?: number;
  /** Dotted path inside the configuration; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

/** One source of settings, lowest precedence first when merged. */
export interface ConfigLayer {
  readonly data: Record<string, unknown>;
  /** Where the value at `path` (or its key, for unknown keys) was written. */
  where(path: Segments, atKey: boolean): Pick<ConfigProblem, 'where' | 'file' | 'line' | 'col'>;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.where}: ${p.path === '' ? '(document)' : p.path}: ${p.message}`;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function valueAt(data: unknown, path: Segments): unknown {
  let node = data;
  for (const seg of path) {
    if (!isRecord(node)) return undefined;
    node = node[String(seg)];
  }
  return node;
}

/** How many leading segments of `path` the layer sets. */
function depthIn(data: unknown, path: Segments): number {
  let node = data;
  let depth = 0;
  for (const seg of path) {
    if (!isRecord(node) || !(String(seg) in node) || node[String(seg)] === undefined) break;
    node = node[String(seg)];
    depth++;
  }
  return depth;
}

/** The layer a value came from: the one setting the longest prefix of its path, later layers first. */
export function blame(layers: readonly ConfigLayer[], path: Segments): ConfigLayer | undefined {
  let best: ConfigLayer | undefined;
  let bestDepth = 0;
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer === undefined) continue;
    const depth = depthIn(layer.data, path);
    if (depth > bestDepth) {
      best = layer;
      bestDepth = depth;
    }
  }
  return best;
}

export function fileLayer(data: Record<string, unknown>, file: string, locator: Locator): ConfigLayer {
  return {
    data,
    where(path, atKey) {
      const { line, col } = locator.locate(path, atKey);
      return { where: `${file}:${line}:${col}`, file, line, col };
    },
  };
}

/** A layer without positions (environment, flags, objects built in code): `names` maps dotted paths to their origin. */
export function namedLayer(
  data: Record<string, unknown>,
  names: ReadonlyMap<string, string>,
  fallback: string,
): ConfigLayer {
  return {
    data,
    where(path) {
      for (let n = path.length; n > 0; n--) {
        const name = names.get(path.slice(0, n).join('.'));
        if (name !== undefined) return { where: name };
      }
      return { where: fallback };
    },
  };
}

/** A value for a message: quoted, capped, and never a whole subtree. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isRecord(v)) return 'a mapping';
  const text = JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min(
        (row[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

function suggestion(key: string, known: readonly string[]): string {
  const best = known
    .map((k) => ({ k, d: editDistance(key, k) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(x.k.length / 3)))
    .sort((a, b) => a.d - b.d)[0];
  return best === undefined ? '' : `; did you mean ${best.k}?`;
}

type Issue = z.core.$ZodIssue;

function accepted(path: Segments, fallback: string): string {
  const o = optionAt(path);
  return o === undefined ? fallback : acceptedText(o);
}

/** One issue as messages at paths; an unknown-keys issue names each key at the key itself. */
export function describeIssue(
  issue: Issue,
  input: unknown,
): { path: Segments; atKey: boolean; message: string }[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
  const value = valueAt(input, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysUnder(path, (kindPath) => valueAt(input, kindPath.split('.')));
      return issue.keys.map((key) => ({
        path: [...path, key],
        atKey: true,
        message: `unknown key${suggestion(key, known)} (known here: ${known.join(', ')})`,
      }));
    }
    case 'invalid_union': {
      const options = 'options' in issue && Array.isArray(issue.options) ? issue.options.map(String) : [];
      const what = options.length > 0 ? `one of ${options.join(', ')}` : 'a valid choice';
      return [{ path, atKey: false, message: `${show(value)} is not accepted; use ${what}` }];
    }
    case 'invalid_type':
      if (value === undefined)
        return [{ path, atKey: true, message: `is required; set ${accepted(path, `a ${issue.expected}`)}` }];
      return [
        { path, atKey: false, message: `${show(value)} is not ${accepted(path, `a ${issue.expected}`)}` },
      ];
    case 'too_small':
    case 'too_big':
      return [
        {
          path,
          atKey: false,
          message: `${show(value)} is out of range; use ${accepted(path, issue.message)}`,
        },
      ];
    case 'invalid_value':
      return [
        {
          path,
          atKey: false,
          message: `${show(value)} is not accepted; use ${accepted(path, issue.values.map(String).join(', '))}`,
        },
      ];
    case 'invalid_format':
      return [{ path, atKey: false, message: `${show(value)} is not valid; ${issue.message}` }];
    case 'custom':
    case 'invalid_element':
    case 'invalid_key':
    case 'not_multiple_of':
      return [{ path, atKey: false, message: issue.message }];
  }
}

/** Problems of every issue, each blamed on its layer, in file order then env then flags. */
export function problemsOf(
  issues: readonly Issue[],
  input: unknown,
  layers: readonly ConfigLayer[],
  fallback: string,
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    for (const d of describeIssue(issue, input)) {
      const layer = blame(layers, d.path);
      const where = layer === undefined ? { where: fallback } : layer.where(d.path, d.atKey);
      out.push({ ...where, path: d.path.join('.'), message: d.message });
    }
  }
  return sortProblems(out);
}

export function sortProblems(list: readonly ConfigProblem[]): ConfigProblem[] {
  const rank = (p: ConfigProblem): number => (p.line !== undefined ? 0 : p.where.startsWith('env ') ? 1 : 2);
  return [...list].sort(
    (a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0),
  );
}
