/**
 * Diagnostics with positions: every problem in a policy file names `file:line:col`, the path inside the
 * document (`rules[3].from[0]`), what is wrong and how to fix it. Positions come from the YAML node tree
 * (yaml's parseDocument with a LineCounter), looked up by path after validation has found the problem.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';

export type Severity = 'error' | 'warning';
export type Path = readonly (string | number)[];

export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** Path inside the document, e.g. `rules[3].from[0]`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
  readonly severity: Severity;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `rules[3].from[0]`, `groups.db-replicas.hosts[1]`, `groups["odd key"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** `file:line:col: path: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.path === '' ? '(document)' : d.path}: ${d.message}`;
}

export interface Position {
  readonly line: number;
  readonly col: number;
}

export interface Locator {
  /** Position of the value at `path`, or of its key when `atKey`; the nearest existing ancestor otherwise. */
  locate(path: Path, atKey?: boolean): Position;
}

/** For policies built in code (synthetic, tests): no positions. */
export const NO_LOCATION: Locator = { locate: () => ({ line: 1, col: 1 }) };

function findPair(map: unknown, key: string | number): Pair | undefined {
  if (!isMap(map)) return undefined;
  for (const item of map.items) {
    if (!isPair(item)) continue;
    const k = item.key;
    const kv: unknown = isScalar(k) ? k.value : k;
    if (kv === key || String(kv) === String(key)) return item;
  }
  return undefined;
}

export function yamlLocator(doc: Document, lines: LineCounter): Locator {
  const pos = (node: Node | null | undefined, fallback: Position): Position => {
    const offset = node?.range?.[0];
    if (offset === undefined) return fallback;
    return lines.linePos(offset);
  };
  return {
    locate(path, atKey = false) {
      let node: unknown = doc.contents;
      let here: Position = pos(doc.contents, { line: 1, col: 1 });
      for (const [i, seg] of path.entries()) {
        const last = i === path.length - 1;
        if (isSeq(node) && typeof seg === 'number') {
          const item: unknown = node.items[seg];
          if (item === undefined) return here;
          node = item;
          here = pos(item as Node, here);
          continue;
        }
        const pair = findPair(node, seg);
        if (pair === undefined) return here;
        const keyPos = pos(pair.key as Node, here);
        if (last && atKey) return keyPos;
        node = pair.value;
        here = node === null || node === undefined ? keyPos : pos(node as Node, keyPos);
      }
      return here;
    },
  };
}

/** Collects every problem: validation never stops at the first. */
export class DiagnosticSink {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];
  readonly #file: string;
  readonly #locator: Locator;

  constructor(file: string, locator: Locator) {
    this.#file = file;
    this.#locator = locator;
  }

  #make(severity: Severity, path: Path, message: string, atKey: boolean): Diagnostic {
    const { line, col } = this.#locator.locate(path, atKey);
    return { file: this.#file, line, col, path: formatPath(path), message, severity };
  }

  error(path: Path, message: string, atKey = false): void {
    this.errors.push(this.#make('error', path, message, atKey));
  }

  warning(path: Path, message: string, atKey = false): void {
    this.warnings.push(this.#make('warning', path, message, atKey));
  }

  /** An error at an explicit position (YAML syntax errors have no path yet). */
  errorAt(line: number, col: number, message: string): void {
    this.errors.push({ file: this.#file, line, col, path: '', message, severity: 'error' });
  }
}

export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort((a, b) => a.line - b.line || a.col - b.col);
}
